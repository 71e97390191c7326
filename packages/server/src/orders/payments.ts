/** A payment provider records money taken for an order; no card data ever passes through here. */
export interface PaymentProvider {
  readonly name: string;
  capture(input: { orderId: string; amount: number; currency: string; reference?: string | undefined }): Promise<{ status: 'captured' | 'failed'; reference: string }>;
}

/** Money taken outside the system (cash, bank transfer): the caller states it was paid. */
export const manualPayments: PaymentProvider = {
  name: 'manual',
  async capture(input) {
    return { status: 'captured', reference: input.reference ?? `manual:${input.orderId}` };
  },
};
