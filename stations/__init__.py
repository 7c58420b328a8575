"""Station inventories as a domain: readers, schema, checklists, standards, compliance, diff."""
