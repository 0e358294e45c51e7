<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * A row of walmart_sync_marketplace_order as the state machine needs it.
 */
final class ClaimRecord
{
    public function __construct(
        public readonly string $purchaseOrderId,
        /** one of ClaimStateMachine::STATE_* */
        public readonly string $state,
        /** random per claim; every state change is a compare-and-set on it */
        public readonly string $claimToken,
        public readonly int $attempts,
        /** seconds since the row last changed, measured by the database clock */
        public readonly int $ageSeconds,
        public readonly ?int $orderId = null,
        public readonly ?int $quoteId = null,
        public readonly ?string $refusalCode = null,
        public readonly ?string $refusalMessage = null,
        public readonly ?string $requestHash = null
    ) {
    }
}
