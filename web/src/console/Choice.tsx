import type { ComponentChildren } from "preact";

/** A labelled choice among named options, each shown in words; `none` adds a first option whose
 * value is "" (any source, no category). */
export function Choice<V extends string>(props: {
  label: ComponentChildren;
  name?: string;
  value: V;
  options: readonly V[];
  words(option: NoInfer<V>): string;
  none?: string;
  onChange(value: NoInfer<V>): void;
}) {
  return (
    <label>
      {props.label}
      <select name={props.name} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value as V)}>
        {props.none !== undefined && <option value="">{props.none}</option>}
        {props.options.map((option) => (
          <option key={option} value={option}>
            {props.words(option)}
          </option>
        ))}
      </select>
    </label>
  );
}
