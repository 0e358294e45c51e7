<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

use LogicException;

/**
 * Runs the claim protocol of ClaimStateMachine against a ClaimStoreInterface.
 *
 * begin() decides whether this call places the order; a lost race (another call inserted or took
 * over the row between our read and our write) is resolved by reading the row again, so two
 * concurrent calls for one purchase order end with one placing and one answered "in progress".
 */
final class ClaimCoordinator
{
    private const MAX_ROUNDS = 4;

    public function __construct(
        private readonly ClaimStoreInterface $store,
        private readonly ClaimStateMachine $states
    ) {
    }

    /**
     * @param callable(ClaimRecord): ?int $findOrder for a stale claim: the id of the order Magento has
     *        for the purchase order (ext_order_id, or the claim's quote id), null when there is none
     */
    public function begin(string $purchaseOrderId, string $requestHash, callable $findOrder): ClaimOutcome
    {
        for ($round = 0; $round < self::MAX_ROUNDS; $round++) {
            $claim = $this->store->find($purchaseOrderId);
            $decision = $this->states->decide($claim);
            if ($decision->action === ClaimDecision::RECOVER && $claim !== null) {
                $decision = $this->states->recover($claim, $findOrder($claim));
            }
            switch ($decision->action) {
                case ClaimDecision::INSERT:
                    $token = ClaimStateMachine::newToken();
                    if ($this->store->insert($purchaseOrderId, $token, $requestHash)) {
                        return ClaimOutcome::place($token, 1);
                    }
                    continue 2;
                case ClaimDecision::RETRY:
                case ClaimDecision::TAKE_OVER:
                    $token = ClaimStateMachine::newToken();
                    if ($this->store->takeOver($purchaseOrderId, $claim->state, $claim->claimToken, $token,
                        $requestHash)) {
                        return ClaimOutcome::place($token, $claim->attempts + 1);
                    }
                    continue 2;
                case ClaimDecision::ADOPT:
                    $lineMap = $this->store->lineMap($purchaseOrderId) ?? '[]';
                    if ($this->store->markPlaced($purchaseOrderId, $claim->claimToken, (int)$decision->orderId, '',
                        $lineMap)) {
                        return ClaimOutcome::existing((int)$decision->orderId, $claim->attempts,
                            $claim->requestHash === $requestHash, true);
                    }
                    continue 2;
                case ClaimDecision::EXISTING:
                    return ClaimOutcome::existing((int)$decision->orderId, $claim->attempts,
                        $claim->requestHash === $requestHash);
                case ClaimDecision::IN_PROGRESS:
                    return ClaimOutcome::inProgress($claim->attempts, $decision->retryAfterSeconds);
                case ClaimDecision::ORDER_DELETED:
                    return ClaimOutcome::orderDeleted($claim->attempts);
            }
            throw new LogicException('unhandled claim decision ' . $decision->action);
        }
        throw new LogicException("the claim of purchase order $purchaseOrderId kept changing; try again");
    }
}
