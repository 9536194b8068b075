import { render } from "preact";
import { Console } from "./Console";
import { currentLanguage } from "../i18n/core";
import "../styles.css";
import "./console.css";

document.documentElement.lang = currentLanguage();
render(<Console />, document.getElementById("root")!);
