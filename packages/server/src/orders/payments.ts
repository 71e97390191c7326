/** A payment provider records money taken for an order; no card data ever passes through here. */
export interface PaymentProvider {
  readonly name: string;
  capture(input: { orderId: string; amount: number; currency: string; reference?: string | undefined }): Promise<{ status: 'captured' | 'failed'; reference: string }>;
  /** gives back `amount` of what was captured for the order */
  refund(input: { orderId: string; amount: number; currency: string; reason: string }): Promise<{ status: 'refunded' | 'failed'; reference: string }>;
}

/** Money taken outside the system (cash, bank transfer): the caller states it was paid. */
export const manualPayments: PaymentProvider = {
  name: 'manual',
  async capture(input) {
    return { status: 'captured', reference: input.reference ?? `manual:${input.orderId}` };
  },
  /** the money goes back outside the system too: this records that it must */
  async refund(input) {
    return { status: 'refunded', reference: `manual-refund:${input.orderId}` };
  },
};
