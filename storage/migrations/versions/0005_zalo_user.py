"""zalo_user: a number of ours for each Zalo user id (hex string)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 06:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('zalo_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zalo_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('zalo_id')
    )


def downgrade() -> None:
    op.drop_table('zalo_user')
