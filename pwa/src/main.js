// Entry point: everything that touches the page, mounting included, lives in src/ui.
import { start } from "./ui/index.jsx";

start();
