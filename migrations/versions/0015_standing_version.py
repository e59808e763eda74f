"""users.standing_version: moved on by every change to a person's roles or memberships, so an app process may
keep what it read of a person's standing (their roles and places) until the number moves.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('standing_version', sa.Integer(), nullable=False, server_default='1'))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('standing_version')
