import { randomUUID } from 'node:crypto';

/**
 * The transient errors Azure SQL answers while a database is reconfigured (patching, scaling,
 * failover, serverless resume, load balancing), with the severity and message text Microsoft lists
 * for each: "List of transient fault error codes" in
 * https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues
 * ("Most reconfiguration events are short-lived and should be completed in less than 60 seconds at
 * most"). The `%` placeholders are filled with this endpoint's names and fresh ids.
 */
export const transientLoginErrorNumbers: readonly TransientLoginErrorNumber[] = [
  40613, 40197, 40501, 49918, 49919, 49920, 4060, 4221, 615, 926,
];

/**
 * An error Azure SQL lists as transient, answered to a login during a reconfiguration: 40613,
 * 40197, 40501, 49918, 49919, 49920, 4060, 4221, 615 or 926
 * (https://learn.microsoft.com/azure/azure-sql/database/troubleshoot-common-errors-issues).
 */
export type TransientLoginErrorNumber =
  | 40613
  | 40197
  | 40501
  | 49918
  | 49919
  | 49920
  | 4060
  | 4221
  | 615
  | 926;

export interface TransientErrorContext {
  database: string;
  serverName: string;
}

export interface TransientErrorText {
  severity: number;
  message: string;
}

// A fixed, obviously local subscription id for the 4991x texts, like the Key Vault emulator's ids.
const localSubscription = '6b65796c';

export function transientErrorText(
  number: TransientLoginErrorNumber,
  context: TransientErrorContext,
): TransientErrorText {
  const { database, serverName } = context;
  switch (number) {
    case 40613:
      return {
        severity: 17,
        message: `Database '${database}' on server '${serverName}' is not currently available. Please retry the connection later. If the problem persists, contact customer support, and provide them with the session tracing ID of '${randomUUID()}'.`,
      };
    case 40197:
      // 40143 is one of the embedded codes the documentation gives as examples.
      return {
        severity: 17,
        message:
          'The service has encountered an error processing your request. Please try again. Error code 40143.',
      };
    case 40501:
      return {
        severity: 20,
        message: `The service is currently busy. Retry the request after 10 seconds. Incident ID: ${randomUUID()}. Code: 4325376.`,
      };
    case 49918:
      return {
        severity: 16,
        message:
          'Cannot process request. Not enough resources to process request. The service is currently busy. Please retry the request later.',
      };
    case 49919:
      return {
        severity: 16,
        message: `Cannot process create or update request. Too many create or update operations in progress for subscription "${localSubscription}".`,
      };
    case 49920:
      return {
        severity: 16,
        message: `Cannot process request. Too many operations in progress for subscription "${localSubscription}".`,
      };
    case 4060:
      return {
        severity: 16,
        message: `Cannot open database "${database}" requested by the login. The login failed.`,
      };
    case 4221:
      return {
        severity: 16,
        message:
          "Login to read-secondary failed due to long wait on 'HADR_DATABASE_WAIT_FOR_TRANSITION_TO_VERSIONING'.",
      };
    case 615:
      return { severity: 21, message: `Could not find database ID 5, name '${database}'` };
    case 926:
      return {
        severity: 14,
        message:
          "Database 'replicatedmaster' cannot be opened. It has been marked SUSPECT by recovery. See the SQL Server error log for more information.",
      };
  }
}
