/** Thrown for a wrong invocation or unusable input: printed, exit code 2. */
export class UsageError extends Error {}
