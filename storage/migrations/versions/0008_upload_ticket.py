"""upload_ticket and stored_file: one-time evidence upload links

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stored_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('upload_ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('used_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['assessment_round.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('upload_ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_ticket_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_upload_ticket_round_id'), ['round_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('upload_ticket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_ticket_round_id'))
        batch_op.drop_index(batch_op.f('ix_upload_ticket_expires_at'))

    op.drop_table('upload_ticket')
    op.drop_table('stored_file')
