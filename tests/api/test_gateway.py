"""Temporal's errors as the API answers them: never a 500 for an engine that is away or restarting."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from api.gateway import http_error


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (RPCStatusCode.NOT_FOUND, "workflow not found", 404),
        (RPCStatusCode.FAILED_PRECONDITION, "workflow execution already completed", 409),
        (RPCStatusCode.UNAVAILABLE, "connection refused", 503),
        (RPCStatusCode.DEADLINE_EXCEEDED, "deadline exceeded", 503),
        (RPCStatusCode.CANCELLED, "Timeout expired", 503),
        # the server restarting under a call in flight (tests/faults found it as a 500)
        (RPCStatusCode.UNKNOWN, "transport error", 503),
        # a query while the workflow's last task timed out with a killed worker (tests/faults found it as a 409)
        (RPCStatusCode.FAILED_PRECONDITION, "Unable to query workflow due to Workflow Task in failed state.", 503),
    ],
)
def test_engine_errors_become_clear_answers(status: RPCStatusCode, message: str, expected: int) -> None:
    answer = http_error(RPCError(message, status, b""), "mission")
    assert isinstance(answer, HTTPException) and answer.status_code == expected
    assert answer.detail


def test_an_unknown_engine_error_is_not_hidden() -> None:
    with pytest.raises(RPCError):
        http_error(RPCError("something else", RPCStatusCode.INTERNAL, b""), "mission")


def test_an_update_whose_outcome_was_not_heard_in_time_is_a_503_not_a_500() -> None:
    """The update was sent, the workers kept restarting, the client's wait ran out (tests/faults, SIGKILL, found
    it raised through the route): it may still be applied, so the answer says retry, and that a retry of an
    applied action is refused."""
    answer = http_error(WorkflowUpdateRPCTimeoutOrCancelledError(), "milestone")
    assert isinstance(answer, HTTPException) and answer.status_code == 503
    assert "retry" in str(answer.detail) and "refused" in str(answer.detail)
