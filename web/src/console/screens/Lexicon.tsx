import { useEffect, useState } from "preact/hooks";
import { api, must, policy, type Schemas } from "../../api/client";
import { Choice } from "../Choice";
import type { Staff } from "../Console";
import { MarkedText, findingsOf } from "../Marked";
import { labelOf, t } from "../i18n";
import { refusal, useSaid } from "../said";

type Surface = Schemas["Surface"];
const SURFACES: Surface[] = ["direct", "group", "public_post", "name"];
const TYPING_PAUSE_MS = 250;

/** The lexicon: the pack's terms and the operators', added and removed, and a text tried against
 * the check as it is typed, with its normalized form and what matched where. */
export function Lexicon({ staff }: { staff: Staff }) {
  const [listing, setListing] = useState<Schemas["LexiconListing"] | null>(null);
  const [filter, setFilter] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function load(): Promise<void> {
    try {
      setListing(must(await api.GET("/api/v1/admin/lexicon")));
    } catch (refused) {
      setError(refusal(refused));
    }
  }

  useEffect(() => void load(), []);
  const shown = (terms: Schemas["LexiconTerm"][]) =>
    terms.filter((term) => !filter || term.text.includes(filter) || term.category.includes(filter));

  return (
    <section aria-labelledby="lexicon-title">
      <h2 id="lexicon-title">{t("nav.lexicon")}</h2>
      {staff.access.may("POST /api/v1/admin/lexicon/check") && <TryText />}
      {staff.access.may("POST /api/v1/admin/lexicon/terms") && <AddTerm onAdded={() => void load()} />}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <label>
        {t("lexicon.filter")}
        <input value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
      </label>
      {listing && (
        <div class="side-by-side">
          <TermTable title={t("lexicon.operator_terms")} terms={shown(listing.operator_terms)} staff={staff} removable onChanged={() => void load()} />
          <TermTable title={t("lexicon.pack_terms")} terms={shown(listing.pack_terms)} staff={staff} onChanged={() => void load()} />
        </div>
      )}
    </section>
  );
}

function TryText() {
  const [text, setText] = useState("");
  const [surface, setSurface] = useState<Surface>("group");
  const [checked, setChecked] = useState<Schemas["CheckedText"] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!text.trim()) {
      setChecked(null);
      return;
    }
    const timer = setTimeout(() => {
      api.POST("/api/v1/admin/lexicon/check", { body: { text, surface } }).then(
        (answer) => {
          setChecked(must(answer));
          setError(null);
        },
        (refused) => setError(refusal(refused)),
      );
    }, TYPING_PAUSE_MS);
    return () => clearTimeout(timer);
  }, [text, surface]);

  const findings = findingsOf(checked?.reasons ?? []);
  return (
    <section class="card try" aria-labelledby="try-title">
      <h3 id="try-title">{t("lexicon.try")}</h3>
      <p class="hint">{t("lexicon.try_hint")}</p>
      <Choice label={t("lexicon.surface")} value={surface} options={SURFACES} words={(n) => labelOf("surface", n)} onChange={setSurface} />
      <label>
        {t("lexicon.text")}
        <textarea name="try" maxLength={65_536} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      {error && <p class="error">{error}</p>}
      {checked && (
        <div role="status" data-testid="check-result">
          <p>
            <strong>{labelOf("decision", checked.decision)}</strong>
          </p>
          <p class="normalized">
            {t("cases.normalized")} <code>{checked.normalized}</code>
          </p>
          <MarkedText text={text} findings={findings} />
          <ul>
            {findings.map((r, i) => (
              <li key={i}>
                {r.label} ({r.severity}, {labelOf("how", r.how)}): {r.excerpt}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

function AddTerm(props: { onAdded(): void }) {
  const [text, setText] = useState("");
  const [category, setCategory] = useState("");
  const [severity, setSeverity] = useState("");
  const [rules, setRules] = useState<Schemas["ModerationPolicy"] | null>(null);
  const [said, attempt] = useSaid();

  useEffect(
    () =>
      void policy().then((p) => setRules(p.moderation)),
    [],
  );

  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void attempt(async () => {
          must(await api.POST("/api/v1/admin/lexicon/terms", { body: { text: text.trim(), category, severity } }));
          setText("");
          props.onAdded();
          return t("lexicon.added");
        });
      }}
    >
      <h3>{t("lexicon.add")}</h3>
      <label>
        {t("lexicon.term")}
        <input name="term" required maxLength={256} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <Choice label={t("cases.category")} value={category} options={rules?.categories ?? []} words={(n) => labelOf("category", n)} prompt={t("choose")} onChange={setCategory} />
      <Choice label={t("lexicon.severity")} value={severity} options={rules?.severities ?? []} words={(n) => n} prompt={t("choose")} onChange={setSeverity} />
      <button type="submit">{t("lexicon.add")}</button>
      {said && <p role="status">{said}</p>}
    </form>
  );
}

function TermTable(props: {
  title: string;
  terms: Schemas["LexiconTerm"][];
  staff: Staff;
  removable?: boolean;
  onChanged(): void;
}) {
  const [said, attempt] = useSaid();
  const mayRemove = props.removable && props.staff.access.may("DELETE /api/v1/admin/lexicon/terms");
  return (
    <table class="terms">
      <caption>
        {props.title} ({props.terms.length})
      </caption>
      <tbody>
        {props.terms.slice(0, 500).map((term) => (
          <tr key={term.text}>
            <td>{term.text}</td>
            <td>{labelOf("category", term.category)}</td>
            <td>{term.severity}</td>
            {mayRemove && (
              <td>
                <button
                  type="button"
                  class="link"
                  onClick={() =>
                    void attempt(async () => {
                      must(await api.DELETE("/api/v1/admin/lexicon/terms", { params: { query: { text: term.text } } }));
                      props.onChanged();
                    })
                  }
                >
                  {t("lexicon.remove")}
                </button>
              </td>
            )}
          </tr>
        ))}
      </tbody>
      {said && <caption class="error">{said}</caption>}
    </table>
  );
}
