"""Sealed ballot box: public key and committee of a vote, one runoff per vote

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('committee', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('committee_k', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('counted_at', storage.types.UTCDateTime(), nullable=True))
        batch_op.create_index('uq_poll_runoff_of', ['runoff_of_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.drop_index('uq_poll_runoff_of')
        batch_op.drop_column('counted_at')
        batch_op.drop_column('committee_k')
        batch_op.drop_column('committee')
        batch_op.drop_column('public_key')
