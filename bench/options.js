// `--name value` options of the bench scripts.
const args = process.argv.slice(2);

/** The value after `--name`, or `dflt`. */
export function option(name, dflt) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
}

/** Whether `--name` is given. */
export function flag(name) {
  return args.includes(`--${name}`);
}
