"""Domain services: the rules and workflows. Views call these; these never import Flask views."""
