"""receivables: amounts paid on invoices, registered payments, payment reminders

Revision ID: f1a2b3c4d5e6
Revises: c4f1d2e3a5b6
Create Date: 2026-12-05 06:40:00.000000

"""

from alembic import op
import sqlalchemy as sa

import bbtraining.db_types


# revision identifiers, used by Alembic.
revision = "f1a2b3c4d5e6"
down_revision = "c4f1d2e3a5b6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "amount_paid", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
            )
        )
    # Invoices paid before this revision were paid in full.
    op.execute("UPDATE invoice SET amount_paid = total WHERE status = 'paid'")

    op.create_table(
        "invoice_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", bbtraining.db_types.UTCDateTime(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_invoice_payment_invoice_id_invoice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user.id"],
            name=op.f("fk_invoice_payment_recorded_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_payment")),
    )
    with op.batch_alter_table("invoice_payment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_payment_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "invoice_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("created_at", bbtraining.db_types.UTCDateTime(), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_invoice_reminder_invoice_id_invoice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_id"],
            ["user.id"],
            name=op.f("fk_invoice_reminder_sent_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_reminder")),
        sa.UniqueConstraint("invoice_id", "sent_on", name="uq_invoice_reminder_day"),
    )
    with op.batch_alter_table("invoice_reminder", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_reminder_invoice_id"), ["invoice_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("invoice_reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_reminder_invoice_id"))
    op.drop_table("invoice_reminder")
    with op.batch_alter_table("invoice_payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_payment_invoice_id"))
    op.drop_table("invoice_payment")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_column("amount_paid")
