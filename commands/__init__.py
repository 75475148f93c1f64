"""The `appeals` command, cut by role: cases (clerks), tasks (handlers), reads, rules, stack."""
