import type { ComponentChildren } from "preact";

/** A labelled choice among named options, each shown in words; `none` adds a first option whose
 * value is "" (any source, no category); `prompt` adds one that asks for a choice and may not be
 * submitted (the select is then required), where a silent first option would be a wrong answer. */
export function Choice<V extends string>(props: {
  label: ComponentChildren;
  name?: string;
  value: V;
  options: readonly V[];
  words(option: NoInfer<V>): string;
  none?: string;
  prompt?: string;
  onChange(value: NoInfer<V>): void;
}) {
  return (
    <label>
      {props.label}
      <select name={props.name} required={props.prompt !== undefined} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value as V)}>
        {props.none !== undefined && <option value="">{props.none}</option>}
        {props.prompt !== undefined && (
          <option value="" disabled>
            {props.prompt}
          </option>
        )}
        {props.options.map((option) => (
          <option key={option} value={option}>
            {props.words(option)}
          </option>
        ))}
      </select>
    </label>
  );
}
