// Apache ECharts, only the parts the dashboards draw with (bars, lines, on a canvas), loaded
// when a dashboard is first opened so that the desks do not wait for it.
import { BarChart, LineChart } from "echarts/charts";
import { AriaComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { currentLanguage } from "../i18n/core";

echarts.use([BarChart, LineChart, AriaComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent, CanvasRenderer]);

export interface Chart {
  draw(option: echarts.EChartsCoreOption): void;
  dispose(): void;
}

export function chartIn(element: HTMLElement): Chart {
  // The described chart (aria) is read out in the console's language.
  const locale = currentLanguage() === "zh-CN" ? "ZH" : "EN";
  const chart = echarts.init(element, undefined, { renderer: "canvas", locale });
  const resize = () => chart.resize();
  addEventListener("resize", resize);
  return {
    draw: (option) => chart.setOption({ aria: { enabled: true }, ...option }, true),
    dispose: () => {
      removeEventListener("resize", resize);
      chart.dispose();
    },
  };
}
