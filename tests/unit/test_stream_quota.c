/*
 * test_stream_quota.c -- per-user budgets of event streams and long-polls
 * (service/api/stream_quota.c): ordinary users, the shared pool, admins and pipelines.
 */
#include "../unit/harness.h"
#include "api/stream_quota.h"
#include "auth/roles.h"

static void test_a_user_holds_at_most_its_budget(void)
{
	struct stream_quota *q = stream_quota_new(2, 4, 256, 32);
	unsigned limit = 99;
	CHECK_INT(stream_quota_take(q, "alice", ROLE_REQUESTER, &limit), STREAM_QUOTA_OK);
	CHECK_INT(stream_quota_take(q, "alice", ROLE_REQUESTER, &limit), STREAM_QUOTA_OK);
	CHECK_INT(stream_quota_take(q, "alice", ROLE_REQUESTER, &limit), STREAM_QUOTA_USER);
	CHECK_INT(limit, 2);
	CHECK_INT(stream_quota_held(q, "alice"), 2);
	/* Another user is not affected; a stream given back can be taken again. */
	CHECK_INT(stream_quota_take(q, "bob", ROLE_CAB, &limit), STREAM_QUOTA_OK);
	stream_quota_give(q, "alice", ROLE_REQUESTER);
	CHECK_INT(stream_quota_take(q, "alice", ROLE_REQUESTER, &limit), STREAM_QUOTA_OK);
	stream_quota_give(q, "alice", ROLE_REQUESTER);
	stream_quota_give(q, "alice", ROLE_REQUESTER);
	stream_quota_give(q, "alice", ROLE_REQUESTER); /* one too many: ignored */
	CHECK_INT(stream_quota_held(q, "alice"), 0);
	CHECK_INT(stream_quota_held(q, "bob"), 1);
	stream_quota_free(q);
}

static void test_admins_and_pipelines_have_their_own_budget(void)
{
	/* 6 streams in all, 4 reserved: ordinary users share 2. */
	struct stream_quota *q = stream_quota_new(2, 3, 6, 4);
	unsigned limit = 0;
	CHECK_INT(stream_quota_take(q, "u1", ROLE_REQUESTER, &limit), STREAM_QUOTA_OK);
	CHECK_INT(stream_quota_take(q, "u2", ROLE_REQUESTER, &limit), STREAM_QUOTA_OK);
	CHECK_INT(stream_quota_take(q, "u3", ROLE_REQUESTER, &limit), STREAM_QUOTA_SHARED);
	CHECK_INT(limit, 2);
	CHECK_INT(stream_quota_held(q, "u3"), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(stream_quota_take(q, "ci", ROLE_PIPELINE, &limit), STREAM_QUOTA_OK);
	CHECK_INT(stream_quota_take(q, "ci", ROLE_PIPELINE, &limit), STREAM_QUOTA_USER);
	CHECK_INT(limit, 3);
	CHECK_INT(stream_quota_take(q, "root", ROLE_ADMIN | ROLE_REQUESTER, &limit),
		  STREAM_QUOTA_OK);
	/* A user's stream given back frees the shared pool. */
	stream_quota_give(q, "u1", ROLE_REQUESTER);
	CHECK_INT(stream_quota_take(q, "u3", ROLE_REQUESTER, &limit), STREAM_QUOTA_OK);
	stream_quota_free(q);
	/* No quota allows everything. */
	CHECK_INT(stream_quota_take(NULL, "x", 0, &limit), STREAM_QUOTA_OK);
}

TESTS(test_a_user_holds_at_most_its_budget, test_admins_and_pipelines_have_their_own_budget)
