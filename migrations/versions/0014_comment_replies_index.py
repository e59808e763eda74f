"""An index on proposal_comments.parent_id: a thread's replies are read by their parents' ids, which scanned the
whole table (200,000 comments at district scale: 0.9 s a page).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('proposal_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_comments_parent_id'), ['parent_id'], unique=False)


def downgrade():
    with op.batch_alter_table('proposal_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_comments_parent_id'))
