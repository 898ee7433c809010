import nodemailer, { type Transporter } from 'nodemailer';
import type { MailConfig } from '../config/config';
import type { Logger } from '../shared/logger';

export interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

/**
 * Sends mail through the SMTP server in EMAIL_* (nodemailer). Without EMAIL_HOST nothing
 * is sent: the attempt is logged (recipient and subject only, never the body, which may
 * hold a reset link).
 */
export class Mailer {
  private readonly transport: Transporter | undefined;

  constructor(
    private readonly config: MailConfig,
    private readonly logger: Logger,
  ) {
    this.transport = config.host
      ? nodemailer.createTransport({
          host: config.host,
          port: config.port,
          secure: config.implicitTls,
          requireTLS: config.startTls && !config.implicitTls,
          ignoreTLS: !config.startTls && !config.implicitTls,
          auth: config.user ? { user: config.user, pass: config.password ?? '' } : undefined,
          connectionTimeout: 10_000,
          greetingTimeout: 10_000,
          socketTimeout: 20_000,
        })
      : undefined;
  }

  get enabled(): boolean {
    return this.transport !== undefined;
  }

  /** Sends one mail; resolves false (and logs why) when it could not be sent. */
  async send(mail: Mail): Promise<boolean> {
    if (!this.transport) {
      this.logger.warn(
        { to: mail.to, subject: mail.subject },
        'mail not sent: EMAIL_HOST is not set',
      );
      return false;
    }
    try {
      await this.transport.sendMail({ from: this.config.from, ...mail });
      return true;
    } catch (err) {
      this.logger.error({ err, to: mail.to, subject: mail.subject }, 'mail could not be sent');
      return false;
    }
  }

  close(): void {
    this.transport?.close();
  }
}
