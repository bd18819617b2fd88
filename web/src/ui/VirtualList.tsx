/* A list that renders only the rows in view (plus a margin), so that 10,000 messages
 * scroll and filter without freezing the page. Rows have one fixed height (CSS class
 * .vrow), measured at run time so zoom and font size are followed. The space above and
 * below the window is held by SVG spacers sized by attribute: the CSP allows no inline
 * style. */
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

const OVERSCAN = 8;

export function VirtualList<I>(props: { items: I[]; keyOf: (i: I) => string; row: (i: I, index: number) => ComponentChildren; label: string; id: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [rowPx, setRowPx] = useState(72);
  const [view, setView] = useState({ top: 0, height: 600 });

  const measure = () => {
    const el = box.current;
    if (!el) return;
    const row = el.querySelector<HTMLElement>('.vrow');
    if (row && row.offsetHeight > 0 && row.offsetHeight !== rowPx) setRowPx(row.offsetHeight);
    const top = el.scrollTop;
    const height = el.clientHeight || 600;
    setView((v) => (v.top === top && v.height === height ? v : { top, height }));
  };

  useLayoutEffect(measure);
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => measure());
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const n = props.items.length;
  const first = Math.max(0, Math.floor(view.top / rowPx) - OVERSCAN);
  const last = Math.min(n, Math.ceil((view.top + view.height) / rowPx) + OVERSCAN);
  const above = first * rowPx;
  const below = Math.max(0, (n - last) * rowPx);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    const item = props.items[i]!;
    rows.push(
      <li class="vrow" key={props.keyOf(item)}>
        {props.row(item, i)}
      </li>,
    );
  }
  return (
    <div class="vlist" ref={box} onScroll={measure} id={props.id} data-count={n} data-first={first} data-last={last}>
      <ol aria-label={props.label}>
        {above > 0 && (
          <li aria-hidden="true" class="vspacer">
            <svg width="1" height={above} focusable="false" />
          </li>
        )}
        {rows}
        {below > 0 && (
          <li aria-hidden="true" class="vspacer">
            <svg width="1" height={below} focusable="false" />
          </li>
        )}
      </ol>
    </div>
  );
}
