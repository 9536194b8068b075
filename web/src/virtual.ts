// A virtualized list for Preact: @tanstack/virtual-core decides which rows are drawn (only those
// in view, and a few around them), measures each as drawn, and keeps the reader's place when
// rows are added above (older history) or below (new messages).
import {
  Virtualizer,
  elementScroll,
  observeElementOffset,
  observeElementRect,
  type VirtualizerOptions,
} from "@tanstack/virtual-core";
import { useLayoutEffect, useReducer, useState } from "preact/hooks";

type Options = Omit<
  VirtualizerOptions<HTMLElement, HTMLElement>,
  "observeElementRect" | "observeElementOffset" | "scrollToFn" | "onChange"
>;

export type VirtualList = Virtualizer<HTMLElement, HTMLElement>;

export function useVirtualList(options: Options): VirtualList {
  const [, redraw] = useReducer((drawn: number) => drawn + 1, 0);
  const full: VirtualizerOptions<HTMLElement, HTMLElement> = {
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    ...options,
    onChange: () => redraw(undefined),
  };
  const [list] = useState(() => new Virtualizer(full));
  list.setOptions(full);
  useLayoutEffect(() => list._didMount(), []);
  useLayoutEffect(() => list._willUpdate());
  return list;
}
