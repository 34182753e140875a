"""The documents: the visit record PDF (抽查记录表), Attachment 2, the subsidy summary, the yearly
archive and the badge sheet, with what they share in `common`."""
