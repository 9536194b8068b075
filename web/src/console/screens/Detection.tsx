import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../../api/client";
import { currentLanguage, formatTime } from "../../i18n/core";
import { Choice } from "../Choice";
import type { Staff } from "../Console";
import { labelOf, t } from "../i18n";
import { refusal, useSaid } from "../said";

type Rescan = Schemas["RescanProgress"];
type Training = Schemas["TrainingResult"];
type Span = "day" | "week" | "month";
const SPANS: Span[] = ["day", "week", "month"];
const SPAN_HOURS: Record<Span, number> = { day: 24, week: 24 * 7, month: 24 * 30 };
const FOLLOW_MS = 1000; // how often a running rescan's progress is read again
const BANK_SHOWN = 50;

const percent = (share: number) =>
  new Intl.NumberFormat(currentLanguage(), { style: "percent", maximumFractionDigits: 1 }).format(share);

/** What catches content besides the lexicon, and the work that keeps it current: the hash bank of
 * removed texts and the image hash bank, rescans of published posts with their progress, and what
 * each training of the classifier measured. */
export function Detection({ staff }: { staff: Staff }) {
  return (
    <section aria-labelledby="detection-title">
      <h2 id="detection-title">{t("nav.detection")}</h2>
      <HashBank />
      <Rescans staff={staff} />
      <Trainings />
    </section>
  );
}

function HashBank() {
  const [bank, setBank] = useState<Schemas["HashBank"] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.GET("/api/v1/admin/moderation/hash-bank", { params: { query: { limit: BANK_SHOWN } } }).then(
      (answer) => setBank(must(answer)),
      (refused) => setError(refusal(refused)),
    );
  }, []);

  return (
    <>
      <TextBank bank={bank} error={error} />
      {bank && <ImageBank images={bank.images} />}
    </>
  );
}

/** The hash bank of removed texts: each by its digest, never the text. */
function TextBank({ bank, error }: { bank: Schemas["HashBank"] | null; error: string | null }) {
  return (
    <section class="card" aria-labelledby="bank-title">
      <h3 id="bank-title">{t("detection.bank")}</h3>
      <p class="hint">{t("detection.bank_hint")}</p>
      {error && <p class="error">{error}</p>}
      {bank && (
        <>
          <p data-testid="bank-size">{t("detection.bank_size", { count: bank.size })}</p>
          <ul class="counts">
            {Object.entries(bank.by_category).map(([category, count]) => (
              <li key={category}>
                {labelOf("category", category)}: {count}
              </li>
            ))}
          </ul>
          {bank.newest.length > 0 && (
            <div class="wide-table" tabIndex={0} aria-label={t("detection.bank")}>
              <table>
                <thead>
                  <tr>
                    <th>{t("detection.digest")}</th>
                    <th>{t("cases.category")}</th>
                    <th>{t("detection.case")}</th>
                    <th>{t("detection.added_at")}</th>
                    <th>{t("detection.near")}</th>
                  </tr>
                </thead>
                <tbody>
                  {bank.newest.map((entry) => (
                    <tr key={entry.digest} data-case={entry.case_id ?? undefined}>
                      <td>
                        <code title={entry.digest}>{entry.digest.slice(0, 16)}…</code>
                      </td>
                      <td>{labelOf("category", entry.category)}</td>
                      <td>{entry.case_id ?? "—"}</td>
                      <td>{formatTime(entry.added_at)}</td>
                      <td>{t(entry.near_copies ? "detection.yes" : "detection.no")}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}

/** The images reviewers removed and the hash lists administrators imported: each by its PDQ
 * hash, never the picture. */
function ImageBank({ images }: { images: Schemas["ImageBank"] }) {
  return (
    <section class="card" aria-labelledby="image-bank-title">
      <h3 id="image-bank-title">{t("detection.image_bank")}</h3>
      <p class="hint">{t("detection.image_bank_hint")}</p>
      <p data-testid="image-bank-size">{t("detection.image_bank_size", { count: images.size })}</p>
      <ul class="counts">
        {Object.entries(images.by_category).map(([category, count]) => (
          <li key={category}>
            {labelOf("category", category)}: {count}
          </li>
        ))}
      </ul>
      {images.newest.length > 0 && (
        <div class="wide-table" tabIndex={0} aria-label={t("detection.image_bank")}>
          <table>
            <thead>
              <tr>
                <th>{t("detection.pdq")}</th>
                <th>{t("cases.category")}</th>
                <th>{t("detection.opinion")}</th>
                <th>{t("detection.source")}</th>
                <th>{t("detection.case")}</th>
                <th>{t("detection.added_at")}</th>
              </tr>
            </thead>
            <tbody>
              {images.newest.map((entry) => (
                <tr key={entry.pdq} data-case={entry.case_id ?? undefined}>
                  <td>
                    <code title={entry.pdq}>{entry.pdq.slice(0, 16)}…</code>
                  </td>
                  <td>{labelOf("category", entry.category)}</td>
                  <td>{labelOf("opinion", entry.opinion)}</td>
                  <td>
                    {entry.source === "import"
                      ? t("detection.source.import", { list: entry.list_name ?? "" })
                      : t("detection.source.review")}
                  </td>
                  <td>{entry.case_id ?? "—"}</td>
                  <td>{formatTime(entry.added_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Rescans({ staff }: { staff: Staff }) {
  const [rescans, setRescans] = useState<Rescan[]>([]);
  const [span, setSpan] = useState<Span>("week");
  const [error, setError] = useState<string | null>(null);
  const [said, attempt] = useSaid();
  const running = rescans.some((rescan) => rescan.state === "running");

  async function load(): Promise<void> {
    try {
      setRescans(must(await api.GET("/api/v1/admin/moderation/rescans")).rescans);
      setError(null);
    } catch (refused) {
      setError(refusal(refused));
    }
  }

  useEffect(() => void load(), []);
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => void load(), FOLLOW_MS);
    return () => clearInterval(timer);
  }, [running]);

  function begin(): void {
    void attempt(async () => {
      const since = new Date(Date.now() - SPAN_HOURS[span] * 3_600_000).toISOString();
      const begun = must(await api.POST("/api/v1/admin/moderation/rescans", { body: { since } }));
      await load();
      return t("detection.begun", { id: begun.id });
    });
  }

  return (
    <section class="card" aria-labelledby="rescans-title">
      <h3 id="rescans-title">{t("detection.rescans")}</h3>
      <p class="hint">{t("detection.rescan_hint")}</p>
      {staff.access.may("POST /api/v1/admin/moderation/rescans") && (
        <div class="filters">
          <Choice label={t("detection.since")} name="span" value={span} options={SPANS} words={(s) => t(`detection.span.${s}`)} onChange={setSpan} />
          <button type="button" disabled={running} onClick={begin}>
            {t("detection.begin")}
          </button>
        </div>
      )}
      {said && <p role="status">{said}</p>}
      {error && <p class="error">{error}</p>}
      {rescans.length === 0 ? (
        <p>{t("detection.no_rescans")}</p>
      ) : (
        <ul class="rescans">
          {rescans.map((rescan) => (
            <RescanRow key={rescan.id} rescan={rescan} />
          ))}
        </ul>
      )}
    </section>
  );
}

function RescanRow({ rescan }: { rescan: Rescan }) {
  const decided = Object.entries(rescan.decisions)
    .filter(([decision, count]) => decision !== "allow" && count > 0)
    .map(([decision, count]) => `${labelOf("decision", decision)}: ${count}`);
  return (
    <li data-testid="rescan" data-rescan={rescan.id} data-state={rescan.state}>
      <p>
        <strong>#{rescan.id}</strong> {t(`detection.state.${rescan.state}`)} ·{" "}
        {t("detection.since_when", { when: formatTime(rescan.since) })} ·{" "}
        {rescan.requested_by === null ? t("detection.by_cli") : t("detection.by", { id: rescan.requested_by })}
      </p>
      <label>
        {t("detection.progress", { scanned: rescan.scanned, total: rescan.total })}
        <progress max={Math.max(rescan.total, 1)} value={rescan.state === "done" ? Math.max(rescan.total, 1) : rescan.scanned} />
      </label>
      <p>
        {t("detection.queued", { queued: rescan.queued })}
        {decided.length > 0 && ` (${decided.join(", ")})`}
      </p>
    </li>
  );
}

function Trainings() {
  const [trainings, setTrainings] = useState<Training[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.GET("/api/v1/admin/moderation/trainings").then(
      (answer) => setTrainings(must(answer).trainings),
      (refused) => setError(refusal(refused)),
    );
  }, []);

  const [latest, ...earlier] = trainings ?? [];
  return (
    <section class="card" aria-labelledby="trainings-title">
      <h3 id="trainings-title">{t("detection.trainings")}</h3>
      <p class="hint">{t("detection.training_hint")}</p>
      {error && <p class="error">{error}</p>}
      {trainings && !latest && <p>{t("detection.no_training")}</p>}
      {latest && <TrainingTable training={latest} />}
      {earlier.length > 0 && (
        <details>
          <summary>{t("detection.earlier")}</summary>
          {earlier.map((training) => (
            <TrainingTable key={training.id} training={training} />
          ))}
        </details>
      )}
    </section>
  );
}

function TrainingTable({ training }: { training: Training }) {
  return (
    <div data-testid="training">
      <p>
        {t("detection.trained", {
          classifier: training.classifier,
          when: formatTime(training.trained_at),
          training: training.training_size,
          validation: training.validation_size,
          threshold: training.threshold,
        })}
      </p>
      <table>
        <thead>
          <tr>
            <th>{t("cases.category")}</th>
            <th>{t("detection.precision")}</th>
            <th>{t("detection.recall")}</th>
            <th>{t("detection.trained_counts")}</th>
            <th>{t("detection.held_out")}</th>
          </tr>
        </thead>
        <tbody>
          {training.categories.map((measure) => (
            <tr key={measure.category}>
              <td>{labelOf("category", measure.category)}</td>
              <td>{percent(measure.precision)}</td>
              <td>{percent(measure.recall)}</td>
              <td>
                {measure.training_positives} / {measure.training_negatives}
              </td>
              <td>
                {measure.validation_positives} / {measure.validation_negatives}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {Object.entries(training.left_out).map(([category, why]) => (
        <p key={category} class="hint">
          {t("detection.left_out", { category: labelOf("category", category), why })}
        </p>
      ))}
    </div>
  );
}
