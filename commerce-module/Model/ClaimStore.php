<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model;

use Magento\Framework\App\ResourceConnection;
use Magento\Framework\DB\Adapter\AdapterInterface;
use WalmartSync\Marketplace\Logic\ClaimRecord;
use WalmartSync\Marketplace\Logic\ClaimStateMachine;
use WalmartSync\Marketplace\Logic\ValidatedOrder;
use WalmartSync\Marketplace\Logic\ClaimStoreInterface;

/**
 * walmart_sync_marketplace_order through Magento's connection, every statement on its own
 * (autocommit): the claim must be visible to a concurrent call before Magento starts placing.
 *
 * Writes are compare-and-set UPDATEs on (purchase_order_id, claim_token, state) that also bump
 * "version", so MySQL always counts the row as changed when the condition holds; the affected-row
 * count says who won. Ages are measured with the database clock.
 */
class ClaimStore implements ClaimStoreInterface
{
    private const TABLE = 'walmart_sync_marketplace_order';

    public function __construct(private readonly ResourceConnection $resource)
    {
    }

    private function connection(): AdapterInterface
    {
        return $this->resource->getConnection('sales');
    }

    private function table(): string
    {
        return $this->resource->getTableName(self::TABLE, 'sales');
    }

    public function find(string $purchaseOrderId): ?ClaimRecord
    {
        $select = $this->connection()->select()
            ->from($this->table(), ['*', 'age_seconds' => new \Zend_Db_Expr('TIMESTAMPDIFF(SECOND, updated_at, NOW())')])
            ->where('purchase_order_id = ?', $purchaseOrderId);
        $row = $this->connection()->fetchRow($select);
        if (!$row) {
            return null;
        }
        return new ClaimRecord(
            (string)$row['purchase_order_id'],
            (string)$row['state'],
            (string)$row['claim_token'],
            (int)$row['attempts'],
            max(0, (int)$row['age_seconds']),
            $row['order_id'] === null ? null : (int)$row['order_id'],
            $row['quote_id'] === null ? null : (int)$row['quote_id'],
            $row['refusal_code'] === null ? null : (string)$row['refusal_code'],
            $row['refusal_message'] === null ? null : (string)$row['refusal_message'],
            $row['request_hash'] === null ? null : (string)$row['request_hash']
        );
    }

    /** The whole row, for answers (increment id, line map). */
    public function row(string $purchaseOrderId): ?array
    {
        $row = $this->connection()->fetchRow(
            $this->connection()->select()->from($this->table())->where('purchase_order_id = ?', $purchaseOrderId)
        );
        return $row ?: null;
    }

    public function insert(string $purchaseOrderId, string $token, string $requestHash): bool
    {
        // INSERT IGNORE: a duplicate purchase_order_id (another call claimed first) inserts nothing.
        $inserted = $this->connection()->insertArray(
            $this->table(),
            ['purchase_order_id', 'state', 'claim_token', 'attempts', 'request_hash'],
            [[$purchaseOrderId, ClaimStateMachine::STATE_PLACING, $token, 1, $requestHash]],
            AdapterInterface::INSERT_IGNORE
        );
        return $inserted === 1;
    }

    /**
     * @param array<string, mixed> $set
     */
    private function compareAndSet(string $purchaseOrderId, string $token, string $state, array $set): bool
    {
        $set['version'] = new \Zend_Db_Expr('version + 1');
        $set['updated_at'] = new \Zend_Db_Expr('NOW()');
        return $this->connection()->update($this->table(), $set, [
            'purchase_order_id = ?' => $purchaseOrderId,
            'claim_token = ?' => $token,
            'state = ?' => $state,
        ]) === 1;
    }

    public function takeOver(string $purchaseOrderId, string $expectedState, string $expectedToken,
                             string $newToken, string $requestHash): bool
    {
        return $this->compareAndSet($purchaseOrderId, $expectedToken, $expectedState, [
            'state' => ClaimStateMachine::STATE_PLACING,
            'claim_token' => $newToken,
            'attempts' => new \Zend_Db_Expr('attempts + 1'),
            'request_hash' => $requestHash,
            'quote_id' => null,
            'line_map' => null,
            'refusal_code' => null,
            'refusal_message' => null,
        ]);
    }

    public function recordQuote(string $purchaseOrderId, string $token, int $quoteId, string $lineMapJson): bool
    {
        return $this->compareAndSet($purchaseOrderId, $token, ClaimStateMachine::STATE_PLACING,
            ['quote_id' => $quoteId, 'line_map' => $lineMapJson]);
    }

    public function markPlaced(string $purchaseOrderId, string $token, int $orderId, string $incrementId,
                               string $lineMapJson): bool
    {
        return $this->compareAndSet($purchaseOrderId, $token, ClaimStateMachine::STATE_PLACING, [
            'state' => ClaimStateMachine::STATE_PLACED,
            'order_id' => $orderId,
            'increment_id' => $incrementId === '' ? null : $incrementId,
            'line_map' => $lineMapJson,
            'refusal_code' => null,
            'refusal_message' => null,
        ]);
    }

    public function markFailed(string $purchaseOrderId, string $token, string $refusalCode, string $message): bool
    {
        return $this->compareAndSet($purchaseOrderId, $token, ClaimStateMachine::STATE_PLACING, [
            'state' => ClaimStateMachine::STATE_FAILED,
            'refusal_code' => $refusalCode,
            'refusal_message' => mb_substr($message, 0, 4000),
        ]);
    }

    public function updatePlaced(string $purchaseOrderId, string $incrementId, string $lineMapJson): bool
    {
        return $this->connection()->update($this->table(), [
            'increment_id' => $incrementId,
            'line_map' => $lineMapJson,
            'version' => new \Zend_Db_Expr('version + 1'),
        ], [
            'purchase_order_id = ?' => $purchaseOrderId,
            'state = ?' => ClaimStateMachine::STATE_PLACED,
        ]) === 1;
    }

    public function lineMap(string $purchaseOrderId): ?string
    {
        $value = $this->connection()->fetchOne(
            $this->connection()->select()->from($this->table(), ['line_map'])->where('purchase_order_id = ?', $purchaseOrderId)
        );
        return $value === false || $value === null ? null : (string)$value;
    }

    public function setStore(string $purchaseOrderId, string $token, int $storeId, string $customerOrderId): bool
    {
        return $this->compareAndSet($purchaseOrderId, $token, ClaimStateMachine::STATE_PLACING,
            ['store_id' => $storeId, 'customer_order_id' => $customerOrderId === '' ? null : $customerOrderId]);
    }

    /** Whether a placed order is one Walmart Fulfillment Services ships (its claim row says so). */
    public function isWalmartFulfilledOrder(int $orderId): bool
    {
        if ($orderId <= 0) {
            return false;
        }
        $fulfillment = $this->connection()->fetchOne(
            $this->connection()->select()->from($this->table(), ['fulfillment'])->where('order_id = ?', $orderId)
        );
        return $fulfillment === ValidatedOrder::WFS_FULFILLED;
    }

    /**
     * The Walmart facts the merchant works the order by, kept beside the order they became: the ship
     * method, Walmart's ship-by and deliver-by dates (a line not shipped with tracking by ship-by + 4
     * days is auto-cancelled), who fulfils it (WFS orders are never shipped here) and the ship node.
     */
    public function setWalmartDetails(string $purchaseOrderId, string $token, ValidatedOrder $order): bool
    {
        return $this->compareAndSet($purchaseOrderId, $token, ClaimStateMachine::STATE_PLACING, [
            'ship_method' => $order->shipMethod === '' ? null : $order->shipMethod,
            'estimated_ship_date' => $order->estimatedShipDate,
            'estimated_delivery_date' => $order->estimatedDeliveryDate,
            'fulfillment' => $order->fulfillment,
            'ship_node' => $order->shipNode === '' ? null : $order->shipNode,
            'source_code' => $order->sourceCode === '' ? null : $order->sourceCode,
        ]);
    }
}
