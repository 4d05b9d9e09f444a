"""zalo_seen: durable de-duplication of Zalo updates

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 19:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('zalo_seen',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bot_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('seen_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bot_id', 'message_id', name='uq_zalo_seen_bot_message')
    )
    with op.batch_alter_table('zalo_seen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_zalo_seen_seen_at'), ['seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('zalo_seen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_zalo_seen_seen_at'))
    op.drop_table('zalo_seen')
