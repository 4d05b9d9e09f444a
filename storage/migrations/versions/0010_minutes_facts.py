"""Minutes facts of a vote (place, venue, committee, attendance) and the cast times of its box

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minutes', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    with op.batch_alter_table('ballot_box', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cast_at', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('ballot_box', schema=None) as batch_op:
        batch_op.drop_column('cast_at')
    with op.batch_alter_table('poll', schema=None) as batch_op:
        batch_op.drop_column('minutes')
