// Entry point: everything that touches the page lives in src/ui.
import { start } from "./ui/index.jsx";

start(document.getElementById("app"));
