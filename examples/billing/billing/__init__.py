"""billing: invoices, payments and exports for a small subscription business."""

__version__ = "0.3.1"
