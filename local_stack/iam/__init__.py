"""Least privilege, enforced on the local stack (the one opt-in: ``LocalStack(enforce_iam=True)``).

- `local_stack.iam.policies`: each function's and the state machine's execution role, as SAM expands it;
- `local_stack.iam.roles`: those roles in moto's IAM, an admin for the stack's own clients, and every handler
  signing with its own role's STS session;
- `local_stack.iam.enforcement`: moto's IAM enforcement switched on and completed where moto falls short.
"""

from __future__ import annotations

from local_stack.iam.roles import (
    ADMIN_USER,
    RUNNING_ROLE,
    AdminCredentials,
    IamRoles,
    RoleSession,
    RunningRoleCredentials,
    run_as,
)

__all__ = [
    "ADMIN_USER",
    "RUNNING_ROLE",
    "AdminCredentials",
    "IamRoles",
    "RoleSession",
    "RunningRoleCredentials",
    "run_as",
]
