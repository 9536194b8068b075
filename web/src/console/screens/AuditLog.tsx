import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../../api/client";
import { formatTime } from "../../i18n/core";
import type { Staff } from "../Console";
import {
  NotVerified,
  fromHex,
  openSignedNote,
  parseCheckpoint,
  parseVerifierKey,
  provesInclusion,
  toHex,
  type CheckpointBody,
} from "../checkpoint";
import { labelOf, t } from "../i18n";
import { refusal } from "../said";

type Row = Schemas["LogRow"];
type Filters = { action: string; actor_id: string; subject_type: string; subject_id: string };
const NO_FILTERS: Filters = { action: "", actor_id: "", subject_type: "", subject_id: "" };
const KEY_CHOICE = "townhall.audit.verifier_key"; // the published key the reader trusts

/** The audit log, filtered and paged, with its newest checkpoint verified here against the key
 * the operator published, and any row's inclusion in it proved on demand. */
export function AuditLog({ staff }: { staff: Staff }) {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const [rows, setRows] = useState<Row[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [checkpoint, setCheckpoint] = useState<Verified | null>(null);

  async function load(cursor: string | null): Promise<void> {
    setError(null);
    try {
      const query = {
        limit: 50,
        ...(cursor ? { cursor } : {}),
        ...(applied.action ? { action: applied.action } : {}),
        ...(applied.subject_type ? { subject_type: applied.subject_type } : {}),
        ...(applied.actor_id ? { actor_id: Number(applied.actor_id) } : {}),
        ...(applied.subject_id ? { subject_id: Number(applied.subject_id) } : {}),
      };
      const page = must(await api.GET("/api/v1/audit/log", { params: { query } }));
      setRows((shown) => (cursor ? [...shown, ...page.rows] : page.rows));
      setNext(page.next_cursor);
    } catch (refused) {
      setError(refusal(refused));
    }
  }

  useEffect(() => void load(null), [applied]);

  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">{t("nav.audit")}</h2>
      {staff.access.may("GET /api/v1/audit/log/checkpoint") && <CheckpointPanel onVerified={setCheckpoint} />}
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filters);
        }}
      >
        {(["action", "actor_id", "subject_type", "subject_id"] as const).map((name) => (
          <label key={name}>
            {t(`audit.filter.${name}`)}
            <input
              name={name}
              inputMode={name.endsWith("_id") ? "numeric" : undefined}
              pattern={name.endsWith("_id") ? "[0-9]*" : undefined}
              maxLength={64}
              value={filters[name]}
              onInput={(e) => setFilters({ ...filters, [name]: e.currentTarget.value.trim() })}
            />
          </label>
        ))}
        <button type="submit">{t("audit.filter.apply")}</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="log">
        <thead>
          <tr>
            <th>#</th>
            <th>{t("audit.at")}</th>
            <th>{t("audit.actor")}</th>
            <th>{t("audit.action")}</th>
            <th>{t("audit.subject")}</th>
            <th>{t("audit.reason")}</th>
            <th>{t("audit.proof")}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.seq} data-seq={row.seq} data-action={row.action}>
              <td>{row.seq}</td>
              <td>{formatTime(row.at)}</td>
              <td>
                {labelOf("role", row.actor_role)}
                {row.actor_id !== null && ` #${row.actor_id}`}
              </td>
              <td>{actionLabel(row.action)}</td>
              <td>{row.subject_type ? `${labelOf("target", row.subject_type)} #${row.subject_id ?? ""}` : "—"}</td>
              <td>{row.purged ? t("audit.purged") : (row.reason ?? "")}</td>
              <td>
                {checkpoint && row.seq <= checkpoint.body.treeSize && <InclusionCheck row={row} checkpoint={checkpoint} />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p>{t("audit.empty")}</p>}
      {next && (
        <button type="button" class="quiet" onClick={() => void load(next)}>
          {t("more")}
        </button>
      )}
    </section>
  );
}

/** An action in words; a read of records (`case.read`) names what was read. */
function actionLabel(action: string): string {
  const read = /^(\w+)\.read$/.exec(action);
  return read ? t("audit.read", { what: labelOf("target", read[1]!) }) : labelOf("action", action);
}

interface Verified {
  body: CheckpointBody;
  served: Schemas["Checkpoint"];
}

function storedKey(): string {
  try {
    return localStorage.getItem(KEY_CHOICE) ?? "";
  } catch {
    return "";
  }
}

function CheckpointPanel(props: { onVerified(verified: Verified | null): void }) {
  const [served, setServed] = useState<Schemas["Checkpoint"] | null>(null);
  const [published, setPublished] = useState(storedKey());
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);

  useEffect(() => {
    // `must` throws inside the chain, so a refusal (none written yet) lands in the handler.
    api
      .GET("/api/v1/audit/log/checkpoint")
      .then((answer) => must(answer))
      .then(
        (found) => {
          setServed(found);
          verify(found, published || found.verifier_key);
        },
        (refused) => setOutcome({ ok: false, text: refusal(refused) }),
      );
  }, []);

  function verify(checkpoint: Schemas["Checkpoint"], vkey: string): void {
    try {
      const body = parseCheckpoint(openSignedNote(checkpoint.text, parseVerifierKey(vkey)));
      if (body.treeSize !== checkpoint.tree_size || toHex(body.root) !== checkpoint.root) {
        throw new NotVerified(t("checkpoint.mismatch"));
      }
      setOutcome({ ok: true, text: t("checkpoint.verified", { size: body.treeSize, key: vkey.split("+")[0] ?? "" }) });
      props.onVerified({ body, served: checkpoint });
    } catch (failed) {
      setOutcome({ ok: false, text: t("checkpoint.failed", { why: (failed as Error).message }) });
      props.onVerified(null);
    }
  }

  return (
    <section class="card checkpoint" aria-labelledby="checkpoint-title">
      <h3 id="checkpoint-title">{t("checkpoint.title")}</h3>
      {served && (
        <p>
          {t("checkpoint.of", { size: served.tree_size, at: formatTime(served.at) })} ·{" "}
          <code>{served.root.slice(0, 16)}…</code>
        </p>
      )}
      {outcome && (
        <p role="status" class={outcome.ok ? "verified" : "error"} data-testid="checkpoint-status">
          {outcome.text}
        </p>
      )}
      {served && !published && <p class="hint">{t("checkpoint.own_key")}</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          localStorage.setItem(KEY_CHOICE, published.trim());
          if (served) verify(served, published.trim() || served.verifier_key);
          else setOutcome({ ok: false, text: t("checkpoint.none_yet") });
        }}
      >
        <label>
          {t("checkpoint.published_key")}
          <input value={published} placeholder={served?.verifier_key} onInput={(e) => setPublished(e.currentTarget.value)} />
        </label>
        <button type="submit">{t("checkpoint.verify")}</button>
      </form>
    </section>
  );
}

function InclusionCheck({ row, checkpoint }: { row: Row; checkpoint: Verified }) {
  const [result, setResult] = useState<string | null>(null);

  async function prove(): Promise<void> {
    try {
      const query = { seq: row.seq, tree_size: checkpoint.body.treeSize };
      const proof = must(await api.GET("/api/v1/audit/log/proofs/inclusion", { params: { query } }));
      const included =
        proof.leaf_hash === row.leaf_hash &&
        provesInclusion(proof.leaf_index, checkpoint.body.treeSize, fromHex(proof.leaf_hash), proof.audit_path.map(fromHex), checkpoint.body.root);
      setResult(included ? t("proof.included") : t("proof.not_included"));
    } catch (refused) {
      setResult(refusal(refused));
    }
  }

  return result ? (
    <span role="status">{result}</span>
  ) : (
    <button type="button" class="link" onClick={() => void prove()}>
      {t("proof.check")}
    </button>
  );
}
