import { useEffect, useState } from "preact/hooks";
import { api, must, policy, type Schemas } from "../api/client";
import { explain } from "../errors";
import { labelOf, t } from "../i18n";
import { guarded } from "../outcome";

export function reasonLabel(reason: string): string {
  return labelOf("reason", reason);
}

type Target = Schemas["Target"];

/** A "Report" button that opens the form in its place; `label` names what is reported. */
export function ReportButton(props: { target: Target; id: number; label: string }) {
  const [open, setOpen] = useState(false);
  if (open) return <ReportForm target={props.target} id={props.id} onDone={() => setOpen(false)} />;
  return (
    <button type="button" class="quiet" aria-label={props.label} onClick={() => setOpen(true)}>
      {t("report.open")}
    </button>
  );
}

/** Report anything (a message, a post, a person, a group, a public account) with a reason and,
 * if one likes, what happened. */
export function ReportForm(props: { target: Target; id: number; onDone(): void }) {
  const [choices, setChoices] = useState<string[]>([]);
  const [reason, setReason] = useState("");
  const [detail, setDetail] = useState("");
  const [said, setSaid] = useState<string | null>(null);

  useEffect(() => {
    void policy().then(({ review }) => {
      const found = review.report_reasons;
      setChoices(found);
    });
  }, []);

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    try {
      must(
        await api.POST("/api/v1/reports", {
          body: { target_type: props.target, target_id: props.id, reason, detail: detail.trim() || null },
        }),
      );
      setSaid(t("report.sent"));
      // Still busy while the thanks shows: a second click must not report again.
      await new Promise((done) => setTimeout(done, 1500));
      props.onDone();
    } catch (refused) {
      setSaid(explain(refused));
    }
  }

  return (
    <form class="report" onSubmit={guarded(submit)}>
      <label>
        {t("report.reason")}
        <select name="reason" required value={reason} onChange={(e) => setReason(e.currentTarget.value)}>
          <option value="" disabled>
            {t("report.choose")}
          </option>
          {choices.map((choice) => (
            <option value={choice} key={choice}>
              {reasonLabel(choice)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("report.detail")}
        <textarea name="detail" rows={2} value={detail} onInput={(e) => setDetail(e.currentTarget.value)} />
      </label>
      {said && <p role="status">{said}</p>}
      <button type="submit">{t("report.send")}</button>{" "}
      <button type="button" class="quiet" onClick={props.onDone}>
        {t("group.cancel")}
      </button>
    </form>
  );
}
