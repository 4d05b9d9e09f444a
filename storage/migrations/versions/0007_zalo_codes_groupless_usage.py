"""zalo join codes, blocs without a group, zalo monthly usage

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:57:25.332403
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('zalo_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bot_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('quota', sa.Integer(), nullable=False),
    sa.Column('warned', sa.Boolean(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bot_id', 'month', name='uq_zalo_usage_bot_month')
    )
    with op.batch_alter_table('bloc', schema=None) as batch_op:
        batch_op.add_column(sa.Column('has_group', sa.Boolean(), server_default=sa.true(), nullable=False))

    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_invite_code_hash', ['code_hash'])



def downgrade() -> None:
    with op.batch_alter_table('invite', schema=None) as batch_op:
        batch_op.drop_constraint('uq_invite_code_hash', type_='unique')
        batch_op.drop_column('code_hash')

    with op.batch_alter_table('bloc', schema=None) as batch_op:
        batch_op.drop_column('has_group')

    op.drop_table('zalo_usage')
