"""Know the environment (practice 2): Pod Security Standards, RBAC, host access."""
