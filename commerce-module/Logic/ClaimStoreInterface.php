<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * Storage of idempotency claims (walmart_sync_marketplace_order). Every write but insert() is a
 * compare-and-set on (purchase order, claim token, state) and says whether it won.
 *
 * Model\ClaimStore implements it with SQL on Magento's connection; the unit tests with an array.
 */
interface ClaimStoreInterface
{
    public function find(string $purchaseOrderId): ?ClaimRecord;

    /** INSERT the claim in state "placing"; false when a row for the purchase order already exists. */
    public function insert(string $purchaseOrderId, string $token, string $requestHash): bool;

    /** A failed or stale claim back to "placing" under a new token, attempts + 1, outcome cleared. */
    public function takeOver(string $purchaseOrderId, string $expectedState, string $expectedToken,
                             string $newToken, string $requestHash): bool;

    /** While placing: the quote built and the line map so far (also proves the claim is still ours). */
    public function recordQuote(string $purchaseOrderId, string $token, int $quoteId, string $lineMapJson): bool;

    public function markPlaced(string $purchaseOrderId, string $token, int $orderId, string $incrementId,
                               string $lineMapJson): bool;

    public function markFailed(string $purchaseOrderId, string $token, string $refusalCode, string $message): bool;

    /** A placed claim completed later (an adopted order): its increment id and rebuilt line map. */
    public function updatePlaced(string $purchaseOrderId, string $incrementId, string $lineMapJson): bool;

    /** @return string|null the line map JSON of the claim */
    public function lineMap(string $purchaseOrderId): ?string;
}
