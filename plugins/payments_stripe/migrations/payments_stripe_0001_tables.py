"""The payments plugin's tables: Connect accounts, payments, webhook events and the
double-entry ledger (transactions, entries, balance references).

Ledger transactions and entries are append-only: triggers refuse UPDATE and DELETE.

Revision ID: payments_stripe_0001
Revises:
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "payments_stripe_0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("payments_stripe_txn", "payments_stripe_entry", "payments_stripe_balance_ref")


def upgrade() -> None:

    op.create_table('payments_stripe_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('object_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('applied_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    op.create_table('payments_stripe_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('stripe_account_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('charges_enabled', sa.Boolean(), nullable=False),
    sa.Column('payouts_enabled', sa.Boolean(), nullable=False),
    sa.Column('details_submitted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('stripe_account_id'),
    sa.UniqueConstraint('user_id')
    )
    op.create_table('payments_stripe_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payer_id', sa.Integer(), nullable=False),
    sa.Column('creator_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('stripe_account_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('gross', sa.Integer(), nullable=False),
    sa.Column('fee_estimate', sa.Integer(), nullable=False),
    sa.Column('fee_actual', sa.Integer(), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('payment_intent_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('charge_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('transfer_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('failure_message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['creator_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['payer_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('payer_id', 'request_id'),
    sa.UniqueConstraint('payment_intent_id')
    )
    op.create_index(op.f('ix_payments_stripe_payment_charge_id'), 'payments_stripe_payment', ['charge_id'], unique=False)
    op.create_index(op.f('ix_payments_stripe_payment_created_at'), 'payments_stripe_payment', ['created_at'], unique=False)
    op.create_index(op.f('ix_payments_stripe_payment_creator_id'), 'payments_stripe_payment', ['creator_id'], unique=False)
    op.create_index(op.f('ix_payments_stripe_payment_payer_id'), 'payments_stripe_payment', ['payer_id'], unique=False)
    op.create_index(op.f('ix_payments_stripe_payment_state'), 'payments_stripe_payment', ['state'], unique=False)
    op.create_index(op.f('ix_payments_stripe_payment_transfer_id'), 'payments_stripe_payment', ['transfer_id'], unique=False)
    op.create_table('payments_stripe_txn',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('stripe_object_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments_stripe_payment.id'], ),
    sa.ForeignKeyConstraint(['reverses_id'], ['payments_stripe_txn.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index(op.f('ix_payments_stripe_txn_created_at'), 'payments_stripe_txn', ['created_at'], unique=False)
    op.create_table('payments_stripe_balance_ref',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('balance_txn_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('txn_id', sa.Integer(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('fee', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('created', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['txn_id'], ['payments_stripe_txn.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('balance_txn_id')
    )
    op.create_index(op.f('ix_payments_stripe_balance_ref_created'), 'payments_stripe_balance_ref', ['created'], unique=False)
    op.create_index(op.f('ix_payments_stripe_balance_ref_txn_id'), 'payments_stripe_balance_ref', ['txn_id'], unique=False)
    op.create_table('payments_stripe_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('txn_id', sa.Integer(), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments_stripe_payment.id'], ),
    sa.ForeignKeyConstraint(['txn_id'], ['payments_stripe_txn.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_payments_stripe_entry_account'), 'payments_stripe_entry', ['account'], unique=False)
    op.create_index(op.f('ix_payments_stripe_entry_txn_id'), 'payments_stripe_entry', ['txn_id'], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION payments_stripe_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'the payments ledger is append-only'; END; $$ LANGUAGE plpgsql"
        )
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            name = f"{table}_no_{verb.lower()}"
            if dialect == "postgresql":
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION payments_stripe_append_only()"
                )
            else:
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'the payments ledger is append-only'); END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for verb in ("update", "delete"):
            if dialect == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb} ON {table}")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS payments_stripe_append_only()")
    op.drop_table('payments_stripe_entry')
    op.drop_table('payments_stripe_balance_ref')
    op.drop_table('payments_stripe_txn')
    op.drop_table('payments_stripe_payment')
    op.drop_table('payments_stripe_account')
    op.drop_table('payments_stripe_event')
