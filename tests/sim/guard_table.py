#!/usr/bin/env python3
"""The mutation table of coordinator/pbft/ (tests/sim/README.md), made
mechanically: every guard that refuses a message, a certificate or a state
is disabled in turn by a one-line patch in a copy of the tree, which is
built (synod-sim and the PBFT unit tests) and run:

    synod-sim --seeds 1..300 --coordinators 4 --hunt   (stops at the first violation)
    test_pbft_core, test_pbft_msg, test_pbft_scenarios, test_pbft_forged

One line per guard is printed: id, what caught it (the first seed and the
violation, or "-"), the unit tests that failed (or "-"). A patch that no
longer applies (the code moved on) says PATCH-FAIL: update its text here.

    tests/sim/guard_table.py [--jobs N] [--seeds A..B] [ID...]

Takes about a minute per guard and job on an idle core (92 guards). Never
run by ctest: tests/sim/mutations.sh is the CI check, on the --mutate
switches."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from multiprocessing import Pool

G = []
def g(gid, f, fn, what, old, new):
    G.append(dict(id=gid, file="coordinator/pbft/" + f, fn=fn, what=what, old=old, new=new))


# ---- replica.c
g("R1", "replica.c", "step_receive", "message claims to be from us",
  "if (m.core.sender == p->cfg.self) {", "if (false && m.core.sender == p->cfg.self) {")
g("R2", "replica.c", "step_receive", "message signature (sender's key)",
  "rc = pbft_core_verify(p, &m.core);\n\tif (rc != 0) {",
  "rc = pbft_core_verify(p, &m.core);\n\tif (false && rc != 0) {")
g("R3", "replica.c", "pbft_core_verify", "signature of an embedded core",
  "p->cfg.pubkeys[c->sender]) != 0) {\n\t\treturn SYNOD_EBADSIG;",
  "p->cfg.pubkeys[c->sender]) != 0 && c->type == 0) {\n\t\treturn SYNOD_EBADSIG;")
# ---- prepare.c
g("P1", "prepare.c", "pbft_on_pre_prepare", "PRE-PREPARE of our view, not in a view change",
  "if (pp->view != p->view || p->in_view_change) {", "if (false) {")
g("P1b", "prepare.c", "pbft_on_pre_prepare", "PRE-PREPARE not during a view change",
  "if (pp->view != p->view || p->in_view_change) {", "if (pp->view != p->view) {")
g("P2", "prepare.c", "pbft_on_pre_prepare", "PRE-PREPARE from the primary of its view",
  "if (pp->sender != pbft_primary(p, pp->view)) {", "if (false) {")
g("P3", "prepare.c", "pbft_on_pre_prepare", "one digest per (view, seq)",
  "if (memcmp(s->pp.digest, pp->digest, PBFT_DIGEST_BYTES) != 0) {\n\t\t\tsynod_counter_inc",
  "if (false) {\n\t\t\tsynod_counter_inc")
g("P4", "prepare.c", "pbft_pp_install", "no second pre-prepare in a view (slot)",
  "if (s->has_pp && s->pp.view >= pp->view) {", "if (s->has_pp && s->pp.view > pp->view) {")
g("P5", "prepare.c", "pbft_pp_install", "a committed slot is final",
  "if (s->committed) {\n\t\treturn; /* execution", "if (false) {\n\t\treturn; /* execution")
g("P6", "prepare.c", "pbft_on_prepare", "PREPARE from a backup",
  "if (c->sender == pbft_primary(p, c->view)) {", "if (false) {")
g("P7", "prepare.c", "pbft_on_prepare", "first PREPARE per sender and view kept",
  "if (!s->has_prepare[c->sender] || s->prepares[c->sender].view < c->view) {", "if (true) {")
g("P8", "prepare.c", "pbft_prepared_check", "prepared only in the current view, not in a view change",
  "if (!s->has_pp || s->pp.view != p->view || p->in_view_change || s->sent_commit ||",
  "if (!s->has_pp || s->sent_commit ||")
g("P9", "prepare.c", "pbft_prepared_check", "the primary's PREPARE is not counted",
  "if (j != primary && s->has_prepare[j] && c->view == s->pp.view &&",
  "if (s->has_prepare[j] && c->view == s->pp.view &&")
g("P10", "prepare.c", "pbft_prepared_check", "PREPAREs of the pre-prepare's view",
  "if (j != primary && s->has_prepare[j] && c->view == s->pp.view &&",
  "if (j != primary && s->has_prepare[j] &&")
g("P11", "prepare.c", "pbft_prepared_check", "PREPAREs for the pre-prepare's digest",
  "if (j != primary && s->has_prepare[j] && c->view == s->pp.view &&\n\t\t    memcmp(c->digest, s->pp.digest, PBFT_DIGEST_BYTES) == 0) {",
  "if (j != primary && s->has_prepare[j] && c->view == s->pp.view) {")
g("P12", "prepare.c", "pbft_prepared_check", "2f PREPAREs",
  "if (count < need) {\n\t\treturn;\n\t}\n\ts->has_cert", "if (count < need - 1) {\n\t\treturn;\n\t}\n\ts->has_cert")
g("P13", "prepare.c", "pbft_on_prepare", "PREPAREs of older views dropped",
  "if (c->view < p->view) {\n\t\treturn 0;\n\t}\n\tif (c->sender == pbft_primary", "if (false) {\n\t\treturn 0;\n\t}\n\tif (c->sender == pbft_primary")
# ---- commit.c
g("C1", "commit.c", "pbft_on_commit", "newest COMMIT per sender kept",
  "if (!s->has_commit[c->sender] || s->commits[c->sender].view < c->view) {", "if (true) {")
g("C2", "commit.c", "pbft_committed_check", "commit only after prepared (own COMMIT sent)",
  "if (s->committed || !s->has_pp || !s->sent_commit) {", "if (s->committed || !s->has_pp) {")
g("C3", "commit.c", "pbft_committed_check", "COMMITs of the pre-prepare's view",
  "if (s->has_commit[j] && c->view == s->pp.view &&", "if (s->has_commit[j] &&")
g("C4", "commit.c", "pbft_committed_check", "COMMITs for the pre-prepare's digest",
  "if (s->has_commit[j] && c->view == s->pp.view &&\n\t\t    memcmp(c->digest, s->pp.digest, PBFT_DIGEST_BYTES) == 0) {",
  "if (s->has_commit[j] && c->view == s->pp.view) {")
g("C5", "commit.c", "pbft_committed_check", "2f+1 COMMITs",
  "if (count < need) {\n\t\treturn;\n\t}\n\ts->cert_count", "if (count < need - 1) {\n\t\treturn;\n\t}\n\ts->cert_count")
g("C6", "commit.c", "pbft_commit_install", "state-transfer batch: in the window, not committed yet",
  "if (s == NULL || s->committed || batch_len > p->cfg.batch_bytes_max ||",
  "if (s == NULL || batch_len > p->cfg.batch_bytes_max ||")
g("C7", "commit.c", "pbft_commit_install", "state-transfer batch carries a valid commit certificate",
  "\t                          digest, cert, cert_count, err, sizeof err);\n\tif (rc != 0) {",
  "\t                          digest, cert, cert_count, err, sizeof err);\n\tif (rc != 0 && cert_count == 0) {")
g("C8", "commit.c", "pbft_execute_ready", "execute in order (slot committed, not executed)",
  "if (s->seq != next || !s->committed || s->executed) {", "if (s->seq != next || s->executed) {")
g("C9", "commit.c", "cert_verify", "certificate size <= replicas",
  "if (replicas < 4 || replicas > PBFT_REPLICAS_MAX || cert_count > replicas) {",
  "if (replicas < 4 || replicas > PBFT_REPLICAS_MAX) {")
g("C10", "commit.c", "cert_verify", "core type (COMMIT / CHECKPOINT)",
  "} else if (c.type != type) {", "} else if (false) {")
g("C11", "commit.c", "cert_verify", "distinct known senders",
  "} else if (c.sender >= replicas || seen[c.sender]) {", "} else if (c.sender >= replicas) {")
g("C12", "commit.c", "cert_verify", "seq and digest",
  "} else if (c.seq != seq || memcmp(c.digest, digest, PBFT_DIGEST_BYTES) != 0) {", "} else if (false) {")
g("C13", "commit.c", "cert_verify", "one view (commit certificates)",
  "} else if (type == PBFT_MSG_COMMIT && i > 0 && c.view != view) {", "} else if (false) {")
g("C14", "commit.c", "cert_verify", "signatures",
  "pubkeys[c.sender]) != 0) {\n\t\t\t\tbad = \"has a bad signature\";",
  "pubkeys[c.sender]) != 0 && false) {\n\t\t\t\tbad = \"has a bad signature\";")
g("C15", "commit.c", "cert_verify", "2f+1 valid",
  "if (valid < pbft_quorum(replicas)) {", "if (valid < pbft_quorum(replicas) - 1) {")
# ---- checkpoint.c
g("K1", "checkpoint.c", "stability_check", "2f+1 matching CHECKPOINTs make a checkpoint stable",
  "if (seq <= p->h || checkpoint_count(p, seq, digest, proof) < p->quorum) {",
  "if (seq <= p->h || checkpoint_count(p, seq, digest, proof) < p->quorum - 1) {")
g("K2", "checkpoint.c", "pbft_on_checkpoint", "CHECKPOINT at a multiple of K",
  "if (c->seq == 0 || c->seq % p->cfg.checkpoint_interval != 0) {", "if (c->seq == 0) {")
g("K3", "checkpoint.c", "pbft_on_checkpoint", "CHECKPOINT above the stable one",
  "if (c->seq <= p->h) {\n\t\treturn 0;\n\t}\n\tpeer_checkpoint_store", "if (false) {\n\t\treturn 0;\n\t}\n\tpeer_checkpoint_store")
g("K4", "checkpoint.c", "lag_check", "f+1 replicas ahead before fetching",
  "if (ahead > p->f) {", "if (ahead > 0) {")
g("K5", "checkpoint.c", "pbft_checkpoint_proof_check", "proof size <= n",
  "if (count > p->n) {\n\t\treturn SYNOD_ECERT;", "if (false) {\n\t\treturn SYNOD_ECERT;")
g("K6", "checkpoint.c", "pbft_checkpoint_proof_check", "proof signatures",
  "if (pbft_core_check(p, cores + (size_t)i * PBFT_CORE_BYTES, &c) != 0 ||",
  "if (pbft_core_decode(&c, cores + (size_t)i * PBFT_CORE_BYTES) != 0 ||")
g("K7", "checkpoint.c", "pbft_checkpoint_proof_check", "proof cores are CHECKPOINTs",
  "c.type != PBFT_MSG_CHECKPOINT || c.seq != seq || seen[c.sender] ||",
  "c.seq != seq || seen[c.sender] ||")
g("K8", "checkpoint.c", "pbft_checkpoint_proof_check", "proof for the claimed seq",
  "c.type != PBFT_MSG_CHECKPOINT || c.seq != seq || seen[c.sender] ||",
  "c.type != PBFT_MSG_CHECKPOINT || seen[c.sender] ||")
g("K9", "checkpoint.c", "pbft_checkpoint_proof_check", "proof senders distinct",
  "c.type != PBFT_MSG_CHECKPOINT || c.seq != seq || seen[c.sender] ||",
  "c.type != PBFT_MSG_CHECKPOINT || c.seq != seq ||")
g("K10", "checkpoint.c", "pbft_checkpoint_proof_check", "proof for one digest",
  "\t\t    memcmp(c.digest, digest, PBFT_DIGEST_BYTES) != 0) {\n\t\t\treturn SYNOD_ECERT;",
  "\t\t    false) {\n\t\t\treturn SYNOD_ECERT;")
g("K11", "checkpoint.c", "pbft_checkpoint_proof_check", "proof holds 2f+1",
  "return valid >= p->quorum ? 0 : SYNOD_ECERT;", "return valid >= p->quorum - 1 ? 0 : SYNOD_ECERT;")
# ---- view_change.c
g("V1", "view_change.c", "committed_cert_check", "commit certificate from a view below the new one",
  "if (pc->pre_prepare.view >= view) {\n\t\treturn SYNOD_ECERT;", "if (false) {\n\t\treturn SYNOD_ECERT;")
g("V2", "view_change.c", "committed_cert_check", "commit certificate verifies",
  "return pbft_cert_verify(&p->cfg.crypto, p->n, (const uint8_t(*)[32])p->cfg.pubkeys,\n\t                        pc->pre_prepare.seq",
  "return 0 * pbft_cert_verify(&p->cfg.crypto, p->n, (const uint8_t(*)[32])p->cfg.pubkeys,\n\t                        pc->pre_prepare.seq")
g("V3", "view_change.c", "pbft_prepared_cert_check", "P: a PRE-PREPARE core",
  "if (pp->type != PBFT_MSG_PRE_PREPARE || pp->view >= view ||", "if (pp->view >= view ||")
g("V4", "view_change.c", "pbft_prepared_cert_check", "P: pre-prepare's view below the new view",
  "if (pp->type != PBFT_MSG_PRE_PREPARE || pp->view >= view ||", "if (pp->type != PBFT_MSG_PRE_PREPARE ||")
g("V5", "view_change.c", "pbft_prepared_cert_check", "P: pre-prepare from its view's primary",
  "pp->sender != pbft_primary(p, pp->view) || pbft_core_verify(p, pp) != 0) {",
  "pbft_core_verify(p, pp) != 0) {")
g("V6", "view_change.c", "pbft_prepared_cert_check", "P: pre-prepare signature",
  "pp->sender != pbft_primary(p, pp->view) || pbft_core_verify(p, pp) != 0) {",
  "pp->sender != pbft_primary(p, pp->view)) {")
g("V7", "view_change.c", "pbft_prepared_cert_check", "P: batch digest = pre-prepare digest",
  "if (memcmp(digest, pp->digest, PBFT_DIGEST_BYTES) != 0) {", "if (false) {")
g("V8", "view_change.c", "pbft_prepared_cert_check", "P: PREPARE signatures",
  "if (pbft_core_check(p, pc->prepares + (size_t)i * PBFT_CORE_BYTES, &c) != 0 ||",
  "if (pbft_core_decode(&c, pc->prepares + (size_t)i * PBFT_CORE_BYTES) != 0 ||")
g("V9", "view_change.c", "pbft_prepared_cert_check", "P: PREPAREs of the pre-prepare's view and seq",
  "c.type != PBFT_MSG_PREPARE || c.view != pp->view || c.seq != pp->seq ||", "c.type != PBFT_MSG_PREPARE ||")
g("V10", "view_change.c", "pbft_prepared_cert_check", "P: no PREPARE from the primary",
  "c.sender == pp->sender || seen[c.sender] ||", "seen[c.sender] ||")
g("V11", "view_change.c", "pbft_prepared_cert_check", "P: distinct PREPARE senders",
  "c.sender == pp->sender || seen[c.sender] ||", "c.sender == pp->sender ||")
g("V12", "view_change.c", "pbft_prepared_cert_check", "P: PREPAREs for the pre-prepare's digest",
  "\t\t    memcmp(c.digest, pp->digest, PBFT_DIGEST_BYTES) != 0) {\n\t\t\treturn SYNOD_ECERT;\n\t\t}\n\t\tseen",
  "\t\t    false) {\n\t\t\treturn SYNOD_ECERT;\n\t\t}\n\t\tseen")
g("V13", "view_change.c", "pbft_prepared_cert_check", "P: 2f PREPAREs",
  "return valid >= prepare_need(p) ? 0 : SYNOD_ECERT;", "return valid + 1 >= prepare_need(p) ? 0 : SYNOD_ECERT;")
g("V14", "view_change.c", "vc_validate", "VIEW-CHANGE for the view, h a multiple of K",
  "if (vc->core.type != PBFT_MSG_VIEW_CHANGE || vc->core.view != view ||\n\t    vc->core.seq % p->cfg.checkpoint_interval != 0 ||",
  "if (vc->core.type != PBFT_MSG_VIEW_CHANGE || vc->core.view != view ||")
g("V15", "view_change.c", "vc_validate", "C present iff h > 0",
  "if (vc->core.seq == 0 ? parsed.checkpoint_count != 0 : parsed.checkpoint_count == 0) {",
  "if (vc->core.seq != 0 && parsed.checkpoint_count == 0) {")
g("V16", "view_change.c", "vc_validate", "C proves h (checkpoint proof)",
  "\t\t                                parsed.checkpoint_count, NULL) != 0) {",
  "\t\t                                parsed.checkpoint_count, NULL) != 0 && false) {")
g("V17", "view_change.c", "vc_validate", "P: seqs ascending above h",
  "if (s <= last || s > vc->core.seq + p->cfg.window ||", "if (s > vc->core.seq + p->cfg.window ||")
g("V18", "view_change.c", "vc_validate", "P: seqs within h + L",
  "if (s <= last || s > vc->core.seq + p->cfg.window ||", "if (s <= last ||")
g("V19", "view_change.c", "vc_validate", "P: each certificate checked",
  "\t\t    pbft_prepared_cert_check(p, &pc, view) != 0) {", "\t\t    false) {")
g("V20", "view_change.c", "pbft_on_view_change", "VIEW-CHANGE validated before it is stored",
  "if (len > p->vc_bytes_max || vc_validate(p, &vc, m->core.view) != 0) {", "if (len > p->vc_bytes_max) {")
g("V21", "view_change.c", "join_check", "f+1 VIEW-CHANGEs above to join",
  "if (above > p->f) {", "if (above > 0) {")
g("V22", "view_change.c", "nv_check_v", "V: distinct senders",
  "if (e.core.sender >= p->n || seen[e.core.sender] ||", "if (e.core.sender >= p->n ||")
g("V23", "view_change.c", "nv_check_v", "V: VIEW-CHANGE signatures",
  "(pbft_core_verify(p, &e.core) != 0 || vc_validate(p, &vc, view) != 0))) {",
  "(vc_validate(p, &vc, view) != 0))) {")
g("V24", "view_change.c", "nv_check_v", "V: each VIEW-CHANGE valid",
  "(pbft_core_verify(p, &e.core) != 0 || vc_validate(p, &vc, view) != 0))) {",
  "(pbft_core_verify(p, &e.core) != 0))) {")
g("V25", "view_change.c", "nv_check_v", "V: 2f+1 VIEW-CHANGEs",
  "return *count >= p->quorum ? 0 : SYNOD_ECERT;", "return *count >= p->quorum - 1 ? 0 : SYNOD_ECERT;")
g("V26", "view_change.c", "nv_check_o", "O: PRE-PREPAREs of the new view by its primary",
  "e.core.view != view || e.core.sender != pbft_primary(p, view) ||", "")
g("V27", "view_change.c", "nv_check_o", "O: PRE-PREPARE signatures",
  "\t\t    pbft_core_verify(p, &e.core) != 0) {\n\t\t\treturn SYNOD_ECERT;",
  "\t\t    false) {\n\t\t\treturn SYNOD_ECERT;")
g("V28", "view_change.c", "nv_check_o", "O: seqs as re-derived",
  "if (!no_proof && (e.core.seq != plan->min_s + 1 + k ||", "if (!no_proof && (false ||")
g("V29", "view_change.c", "nv_check_o", "O: digests as re-derived",
  "\t\t                  memcmp(e.core.digest, plan->digest[k], PBFT_DIGEST_BYTES) != 0)) {",
  "\t\t                  false)) {")
g("V30", "view_change.c", "nv_check_o", "O: as many as re-derived",
  "if (more != 0 || (!no_proof && k != plan->max_s - plan->min_s)) {", "if (more != 0) {")
g("V31", "view_change.c", "pbft_on_new_view", "NEW-VIEW from the new view's primary",
  "if (m->core.sender != pbft_primary(p, view) || len > p->nv_bytes_max) {", "if (len > p->nv_bytes_max) {")
g("V32", "view_change.c", "pbft_on_new_view", "NEW-VIEW for a view above ours (or ours in a view change)",
  "if (view < p->view || (view == p->view && !p->in_view_change) || view == 0) {", "if (view == 0) {")
g("V33", "view_change.c", "enter_new_view", "min-s checkpoint: own digest and proof before stabilising",
  "\t\t    pbft_checkpoint_proof_check(p, plan->min_s, plan->min_digest, plan->min_proof,\n\t\t                                plan->min_proof_count, proof) == 0) {",
  "\t\t    (pbft_checkpoint_proof_check(p, plan->min_s, plan->min_digest, plan->min_proof,\n\t\t                                plan->min_proof_count, proof) == 0 || true)) {")
# ---- state_transfer.c
g("S1", "state_transfer.c", "state_install_checkpoint", "STATE: checkpoint proof",
  "\t                                proof) != 0) {\n\t\treturn SYNOD_ECERT;",
  "\t                                proof) != 0 && false) {\n\t\treturn SYNOD_ECERT;")
g("S2", "state_transfer.c", "state_install_checkpoint", "STATE: snapshot digest = proven digest",
  "if (memcmp(digest, first.digest, PBFT_DIGEST_BYTES) != 0 ||\n\t    st->snapshot_len > p->cfg.snapshot_bytes_max) {",
  "if (st->snapshot_len > p->cfg.snapshot_bytes_max) {")
g("S3", "state_transfer.c", "pbft_on_state", "STATE: checkpoint only if ahead of us",
  "if (st.checkpoint_count > 0 && m->core.seq > p->last_exec) {", "if (st.checkpoint_count > 0 && m->core.seq > p->h) {")
g("S4", "state_transfer.c", "pbft_on_state", "STATE: batches in order from last_exec + 1",
  "if (b.seq != p->last_exec + 1) {\n\t\t\tbreak;", "if (false) {\n\t\t\tbreak;")
g("S5", "state_transfer.c", "pbft_on_fetch", "FETCH answered once per half timeout per peer",
  "if (p->peer_fetch_ms[j] != 0 &&", "if (false &&")
# ---- request.c
g("Q1", "request.c", "pending_add", "entry size",
  "if (len == 0 || len > p->cfg.entry_bytes_max) {", "if (len == 0) {")
g("Q2", "request.c", "pending_add", "no duplicate pending or recently executed entry",
  "if (pending_find(p, digest) != NULL || recent_has(p, digest)) {", "if (pending_find(p, digest) != NULL) {")
g("Q3", "request.c", "pending_add", "per-peer quota",
  "if (origin != p->cfg.self && p->pending_by_origin[origin] >= pending_peer_quota(p)) {", "if (false) {")
# ---- msg.c
g("M1", "msg.c", "msg_envelope_read", "sender < replicas",
  "if (m->core.sender >= lim->replicas) {\n\t\treturn SYNOD_EPROTO;", "if (false) {\n\t\treturn SYNOD_EPROTO;")
g("M2", "msg.c", "msg_payload_check", "payload digest named by the core",
  "return ok ? 0 : SYNOD_EPROTO;", "return ok || true ? 0 : SYNOD_EPROTO;")
g("M3", "msg.c", "msg_payload_check", "no payload on PREPARE/COMMIT/CHECKPOINT/FETCH",
  "return m->payload_len == 0 ? 0 : SYNOD_EPROTO;", "return 0;")
g("M4", "msg.c", "prepared_cert_take_prepared", "P: batch digest = pre-prepare digest (parse)",
  "if (!batch_digest_matches(out->pre_prepare.digest, out->batch, out->batch_len)) {", "if (false) {")
g("M5", "msg.c", "new_view_vc_take", "V: VIEW-CHANGE payload hash = its core digest",
  "if (!digest_matches(out->core.digest, p, n)) {", "if (false) {")
g("M6", "msg.c", "new_view_pp_take", "O: batch digest = PRE-PREPARE digest",
  "if (lim != NULL && !batch_digest_matches(out->core.digest, out->batch, out->batch_len)) {", "if (false) {")
g("M7", "msg.c", "core_check", "embedded core: type and sender",
  "if (pbft_core_decode(out, at) != 0 || out->type != want) {", "if (pbft_core_decode(out, at) != 0) {")
g("M8", "msg.c", "core_list_take", "quorum lists <= replicas",
  "if (lim != NULL && n > lim->replicas) {", "if (false) {")
g("M9", "msg.c", "pbft_batch_iter_init", "batch entry count <= batch_entries_max",
  "if (count > lim->batch_entries_max) {", "if (false) {")


# Guards that are --mutate switches: the patch turns the switch on.
SWITCHES = {"R2": "NO_SIGNATURE_CHECK", "P2": "PRE_PREPARE_ANY_SENDER",
            "C7": "STATE_CERT_UNCHECKED", "K6": "CKPT_PROOF_NO_SIG", "K10": "CKPT_PROOF_MIXED",
            "V16": "VIEW_CHANGE_UNCHECKED_C", "V19": "VIEW_CHANGE_UNCHECKED_P",
            "V29": "NEW_VIEW_O_DIGESTS", "S2": "STATE_SNAPSHOT_UNCHECKED"}
for gd in G:
    if gd["id"] in SWITCHES:
        gd["old"] = "pbft_mutated(p, PBFT_MUTATE_%s)" % SWITCHES[gd["id"]]
        gd["new"] = "true"


UNITS = ["test_pbft_core", "test_pbft_msg", "test_pbft_scenarios", "test_pbft_forged"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sh(cmd, cwd, timeout=None):
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        return 124, "timeout"


def tree_copy(dst):
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        os.makedirs(os.path.dirname(os.path.join(dst, f)), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), os.path.join(dst, f))


def run_sim(build, seeds):
    rc, o = sh(["timeout", "300", f"{build}/synod-sim", "--seeds", seeds, "--coordinators",
                "4", "--hunt"], build)
    m = re.search(r"^VIOLATION seed=(\d+) .*?: (.*)$", o, re.M)
    if rc == 1 and m:
        return f"seed {m.group(1)}: {m.group(2)[:100]}"
    if rc == 0:
        return "-"
    lines = [l for l in o.splitlines() if l.strip()]
    return f"rc={rc}: {lines[-1][:100] if lines else ''}"


def run_units(build):
    failed = []
    for u in UNITS:
        rc, o = sh([f"{build}/{u}"], build, timeout=300)
        if rc != 0:
            names = sorted(set(n for n in re.findall(r"\[  FAILED  \] (\S+)", o)
                               if not n.isdigit()))
            failed.append(f"{u}:{','.join(names) or f'rc={rc}'}")
    return " ".join(failed) or "-"


def worker(args):
    ids, seeds = args
    tmp = tempfile.mkdtemp(prefix="synod-guards.")
    src, build = os.path.join(tmp, "src"), os.path.join(tmp, "build")
    tree_copy(src)
    sh(["cmake", "-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], tmp)
    rows = []
    for gd in [g for g in G if g["id"] in ids]:
        path = os.path.join(src, gd["file"])
        text = open(path).read()
        if text.count(gd["old"]) != 1:
            rows.append((gd["id"], "PATCH-FAIL", "-"))
            continue
        open(path, "w").write(text.replace(gd["old"], gd["new"]))
        try:
            rc, o = sh(["cmake", "--build", build, "-j1", "--target", "synod-sim"] + UNITS, tmp)
            if rc != 0:
                rows.append((gd["id"], "BUILD-FAIL", o[-200:].replace("\n", " ")))
            else:
                rows.append((gd["id"], run_sim(build, seeds), run_units(build)))
        finally:
            open(path, "w").write(text)
        print("\t".join(rows[-1]), file=sys.stderr, flush=True)
    shutil.rmtree(tmp)
    return rows


def main():
    args = sys.argv[1:]
    jobs, seeds = 1, "1..300"
    while args and args[0].startswith("--"):
        if args[0] == "--jobs":
            jobs = int(args[1])
        elif args[0] == "--seeds":
            seeds = args[1]
        args = args[2:]
    ids = [g["id"] for g in G if not args or g["id"] in args]
    with Pool(jobs) as pool:
        parts = pool.map(worker, [(ids[i::jobs], seeds) for i in range(jobs)])
    got = {r[0]: r for part in parts for r in part}
    for gd in G:
        if gd["id"] in got:
            print("\t".join(got[gd["id"]]))


if __name__ == "__main__":
    main()
