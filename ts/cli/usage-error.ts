/** A mistake on the command line: a subcommand reports it in one line and exits with code 2. */
export class UsageError extends Error {}
