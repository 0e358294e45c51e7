<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Test\Unit\Fake;

use WalmartSync\Marketplace\Logic\ClaimRecord;
use WalmartSync\Marketplace\Logic\ClaimStateMachine;
use WalmartSync\Marketplace\Logic\ClaimStoreInterface;

/**
 * walmart_sync_marketplace_order as an array: a unique key on the purchase order, compare-and-set
 * updates, and a clock the test moves (age()).
 */
final class InMemoryClaimStore implements ClaimStoreInterface
{
    /** @var array<string, array<string, mixed>> */
    public array $rows = [];

    /** @var callable|null runs inside find(), after the read: lets a test interleave another caller */
    public $afterFind = null;

    public function age(string $po, int $seconds): void
    {
        $this->rows[$po]['age'] += $seconds;
    }

    public function find(string $purchaseOrderId): ?ClaimRecord
    {
        $row = $this->rows[$purchaseOrderId] ?? null;
        $record = $row === null ? null : new ClaimRecord($purchaseOrderId, $row['state'], $row['token'],
            $row['attempts'], $row['age'], $row['order_id'], $row['quote_id'], $row['refusal_code'],
            $row['refusal_message'], $row['hash']);
        if ($this->afterFind !== null) {
            $hook = $this->afterFind;
            $this->afterFind = null;
            $hook();
        }
        return $record;
    }

    public function insert(string $purchaseOrderId, string $token, string $requestHash): bool
    {
        if (isset($this->rows[$purchaseOrderId])) {
            return false;
        }
        $this->rows[$purchaseOrderId] = ['state' => ClaimStateMachine::STATE_PLACING, 'token' => $token,
            'attempts' => 1, 'age' => 0, 'order_id' => null, 'quote_id' => null, 'refusal_code' => null,
            'refusal_message' => null, 'hash' => $requestHash, 'line_map' => null, 'increment_id' => null];
        return true;
    }

    private function cas(string $po, string $token, string $state, array $changes): bool
    {
        $row = $this->rows[$po] ?? null;
        if ($row === null || $row['token'] !== $token || $row['state'] !== $state) {
            return false;
        }
        $this->rows[$po] = array_merge($row, $changes, ['age' => 0]);
        return true;
    }

    public function takeOver(string $purchaseOrderId, string $expectedState, string $expectedToken,
                             string $newToken, string $requestHash): bool
    {
        $attempts = ($this->rows[$purchaseOrderId]['attempts'] ?? 0) + 1;
        return $this->cas($purchaseOrderId, $expectedToken, $expectedState, ['state' => 'placing',
            'token' => $newToken, 'attempts' => $attempts, 'hash' => $requestHash, 'refusal_code' => null,
            'refusal_message' => null, 'quote_id' => null, 'line_map' => null]);
    }

    public function recordQuote(string $purchaseOrderId, string $token, int $quoteId, string $lineMapJson): bool
    {
        return $this->cas($purchaseOrderId, $token, 'placing', ['quote_id' => $quoteId, 'line_map' => $lineMapJson]);
    }

    public function markPlaced(string $purchaseOrderId, string $token, int $orderId, string $incrementId,
                               string $lineMapJson): bool
    {
        return $this->cas($purchaseOrderId, $token, 'placing', ['state' => 'placed', 'order_id' => $orderId,
            'increment_id' => $incrementId === '' ? null : $incrementId, 'line_map' => $lineMapJson]);
    }

    public function markFailed(string $purchaseOrderId, string $token, string $refusalCode, string $message): bool
    {
        return $this->cas($purchaseOrderId, $token, 'placing', ['state' => 'failed',
            'refusal_code' => $refusalCode, 'refusal_message' => $message]);
    }

    public function updatePlaced(string $purchaseOrderId, string $incrementId, string $lineMapJson): bool
    {
        $row = $this->rows[$purchaseOrderId] ?? null;
        if ($row === null || $row['state'] !== 'placed') {
            return false;
        }
        $this->rows[$purchaseOrderId]['increment_id'] = $incrementId;
        $this->rows[$purchaseOrderId]['line_map'] = $lineMapJson;
        return true;
    }

    public function lineMap(string $purchaseOrderId): ?string
    {
        return $this->rows[$purchaseOrderId]['line_map'] ?? null;
    }
}
