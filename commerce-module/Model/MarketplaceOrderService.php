<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model;

use Magento\Framework\Exception\NoSuchEntityException;
use Magento\Framework\Phrase;
use Magento\Framework\Webapi\Exception as WebapiException;
use Magento\Sales\Api\OrderRepositoryInterface;
use Psr\Log\LoggerInterface;
use WalmartSync\Marketplace\Api\Data\MarketplaceOrderInterface;
use WalmartSync\Marketplace\Api\Data\PlacedLineInterfaceFactory;
use WalmartSync\Marketplace\Api\Data\PlacementResultInterface;
use WalmartSync\Marketplace\Api\Data\PlacementResultInterfaceFactory;
use WalmartSync\Marketplace\Api\MarketplaceOrderServiceInterface;
use WalmartSync\Marketplace\Logic\ClaimCoordinator;
use WalmartSync\Marketplace\Logic\ClaimOutcome;
use WalmartSync\Marketplace\Logic\ClaimRecord;
use WalmartSync\Marketplace\Logic\ClaimStateMachine;
use WalmartSync\Marketplace\Logic\InvalidOrderRequest;
use WalmartSync\Marketplace\Logic\LineMap;
use WalmartSync\Marketplace\Logic\OrderRequestValidator;
use WalmartSync\Marketplace\Logic\PlacedOrder;
use WalmartSync\Marketplace\Logic\Refusal;
use WalmartSync\Marketplace\Logic\RefusalCode;
use WalmartSync\Marketplace\Logic\RefusedPlacement;
use WalmartSync\Marketplace\Logic\RequestFingerprint;
use WalmartSync\Marketplace\Logic\ValidatedOrder;
use WalmartSync\Marketplace\Model\Data\OrderArray;

/**
 * POST /V1/walmart-sync/orders and GET /V1/walmart-sync/orders/:purchaseOrderId.
 *
 * validate (Logic\OrderRequestValidator) -> claim (Logic\ClaimCoordinator on ClaimStore) -> place
 * (QuotePlacer) -> record. The claim is committed before Magento is asked to place anything, so a
 * concurrent or retried call never places a second order. After any exception once submit() was
 * called the service looks for the order (OrderFinder) before recording a failure: "failed" always
 * means Magento has no order for the purchase order.
 */
class MarketplaceOrderService implements MarketplaceOrderServiceInterface
{
    public function __construct(
        private readonly OrderRequestValidator $validator,
        private readonly ClaimStore $claims,
        private readonly QuotePlacer $placer,
        private readonly OrderFinder $orderFinder,
        private readonly OrderRepositoryInterface $orderRepository,
        private readonly PlacementResultInterfaceFactory $resultFactory,
        private readonly PlacedLineInterfaceFactory $lineFactory,
        private readonly Config $config,
        private readonly LoggerInterface $logger
    ) {
    }

    /**
     * @inheritdoc
     */
    public function place(MarketplaceOrderInterface $order)
    {
        $request = OrderArray::fromOrder($order);
        try {
            $validated = $this->validator->validate($request);
        } catch (InvalidOrderRequest $e) {
            throw $this->error((string)($request['purchase_order_id'] ?? ''), new Refusal(RefusalCode::INVALID_REQUEST,
                'the order is not valid: ' . $e->getMessage(), Refusal::PHASE_VALIDATION, null, null, null, $e->errors()));
        }
        $po = $validated->purchaseOrderId;
        $coordinator = new ClaimCoordinator($this->claims, new ClaimStateMachine($this->config->staleClaimSeconds()));
        $outcome = $coordinator->begin($po, RequestFingerprint::of($validated),
            fn (ClaimRecord $claim): ?int => $this->orderFinder->find($po, $claim->quoteId));

        switch ($outcome->kind) {
            case ClaimOutcome::EXISTING:
                return $this->existing($po, $outcome);
            case ClaimOutcome::IN_PROGRESS:
                throw $this->error($po, new Refusal(RefusalCode::PLACEMENT_IN_PROGRESS,
                    'another call is placing this purchase order', Refusal::PHASE_CLAIM, null, null, null, [],
                    $outcome->retryAfterSeconds));
            case ClaimOutcome::ORDER_DELETED:
                throw $this->error($po, new Refusal(RefusalCode::ORDER_DELETED,
                    'the order placed for this purchase order was deleted', Refusal::PHASE_CLAIM));
        }
        return $this->placeClaimed($validated, (string)$outcome->token, $outcome->attempts);
    }

    private function placeClaimed(ValidatedOrder $order, string $token, int $attempts): PlacementResultInterface
    {
        $po = $order->purchaseOrderId;
        $quoteId = null;
        $record = function (int $id, string $lineMapJson, int $storeId) use ($po, $token, &$quoteId, $order): void {
            $quoteId = $id;
            if (!$this->claims->recordQuote($po, $token, $id, $lineMapJson)
                || !$this->claims->setStore($po, $token, $storeId, $order->customerOrderId)
                || !$this->claims->setWalmartDetails($po, $token, $order)) {
                throw new RefusedPlacement(new Refusal(RefusalCode::PLACEMENT_IN_PROGRESS,
                    'the claim was taken over by another call (this one ran longer than the stale threshold)',
                    Refusal::PHASE_CLAIM));
            }
        };
        try {
            $placed = $this->placer->place($order, $record);
        } catch (RefusedPlacement $e) {
            $found = $e->submitted ? $this->orderFinder->find($po, $quoteId) : null;
            if ($found === null) {
                $this->claims->markFailed($po, $token, $e->refusal->code, $e->refusal->message);
                throw $this->error($po, $e->refusal);
            }
            $placed = $this->adoptAfterError($po, $found, $e);
        } catch (\Throwable $e) {
            $found = $quoteId === null ? null : $this->orderFinder->find($po, $quoteId);
            if ($found === null) {
                $this->claims->markFailed($po, $token, RefusalCode::COMMERCE_ERROR, $e->getMessage());
                $this->logger->critical('walmart-sync: placing Walmart purchase order ' . $po . ' failed', ['exception' => $e]);
                throw $e;
            }
            $placed = $this->adoptAfterError($po, $found, $e);
        }
        if (!$this->claims->markPlaced($po, $token, $placed->orderId, $placed->incrementId, $placed->lineMap->toJson())) {
            $this->logger->warning("walmart-sync: order {$placed->incrementId} was placed for $po but its claim had been "
                . 'taken over; raise walmart_sync/orders/stale_claim_seconds');
        }
        return $this->result($po, ClaimStateMachine::STATE_PLACED, true, true, $attempts, $placed);
    }

    /**
     * Magento threw after the order was saved (e.g. while saving the quote afterwards): the order is
     * the result, built from the database rather than from objects the exception left half-done.
     */
    private function adoptAfterError(string $po, int $orderId, \Throwable $e): PlacedOrder
    {
        $this->logger->warning("walmart-sync: Magento raised an error after placing the order of $po; keeping order $orderId",
            ['exception' => $e]);
        return $this->loadPlaced($po, $orderId);
    }

    private function loadPlaced(string $po, int $orderId): PlacedOrder
    {
        $order = $this->orderRepository->get($orderId);
        $lineMap = LineMap::fromJson($this->claims->lineMap($po));
        if (!$lineMap->isComplete()) {
            try {
                $lineMap = $lineMap->withOrderItems($this->orderFinder->orderItemsByQuoteItem($orderId));
            } catch (\LogicException $e) {
                $this->logger->warning("walmart-sync: line map of $po is incomplete: " . $e->getMessage());
            }
        }
        return new PlacedOrder($orderId, (string)$order->getIncrementId(), $lineMap, [
            'subtotal' => (float)$order->getSubtotal(),
            'shipping_amount' => (float)$order->getShippingAmount(),
            'tax_amount' => (float)$order->getTaxAmount(),
            'grand_total' => (float)$order->getGrandTotal(),
        ]);
    }

    private function existing(string $po, ClaimOutcome $outcome): PlacementResultInterface
    {
        try {
            $placed = $this->loadPlaced($po, (int)$outcome->orderId);
        } catch (NoSuchEntityException $e) {
            throw $this->error($po, new Refusal(RefusalCode::ORDER_DELETED,
                'the order placed for this purchase order was deleted', Refusal::PHASE_CLAIM));
        }
        if ($outcome->adopted) {
            $this->claims->updatePlaced($po, $placed->incrementId, $placed->lineMap->toJson());
        }
        return $this->result($po, ClaimStateMachine::STATE_PLACED, false, $outcome->sameRequest, $outcome->attempts, $placed);
    }

    /**
     * @inheritdoc
     */
    public function get($purchaseOrderId)
    {
        $po = (string)$purchaseOrderId;
        $claim = $this->claims->find($po);
        if ($claim === null) {
            throw new NoSuchEntityException(new Phrase('No placement was requested for Walmart purchase order %1.', [$po]));
        }
        if ($claim->state === ClaimStateMachine::STATE_PLACED && $claim->orderId !== null) {
            try {
                return $this->result($po, $claim->state, false, true, $claim->attempts,
                    $this->loadPlaced($po, $claim->orderId));
            } catch (NoSuchEntityException $e) {
                // deleted since: answered below without an order
            }
        }
        $result = $this->result($po, $claim->state, false, true, $claim->attempts, null);
        $result->setRefusalCode($claim->state === ClaimStateMachine::STATE_PLACED ? RefusalCode::ORDER_DELETED
            : $claim->refusalCode);
        $result->setRefusalMessage($claim->refusalMessage);
        return $result;
    }

    /**
     * @return \WalmartSync\Marketplace\Model\Data\PlacementResult
     */
    private function result(string $po, string $state, bool $created, bool $sameRequest, int $attempts,
                            ?PlacedOrder $placed): PlacementResultInterface
    {
        /** @var \WalmartSync\Marketplace\Model\Data\PlacementResult $result */
        $result = $this->resultFactory->create();
        $result->setPurchaseOrderId($po)->setState($state)->setCreated($created)->setSameRequest($sameRequest)
            ->setAttempts($attempts);
        if ($placed === null) {
            return $result;
        }
        $result->setOrderId($placed->orderId)->setIncrementId($placed->incrementId)
            ->setSubtotal($placed->totals['subtotal'])->setShippingAmount($placed->totals['shipping_amount'])
            ->setTaxAmount($placed->totals['tax_amount'])->setGrandTotal($placed->totals['grand_total']);
        $lines = [];
        foreach ($placed->lineMap->toList() as $row) {
            /** @var \WalmartSync\Marketplace\Model\Data\PlacedLine $line */
            $line = $this->lineFactory->create();
            $lines[] = $line->setLineNumber($row['line_number'])->setSku($row['sku'])->setQty($row['qty'])
                ->setQuoteItemId($row['quote_item_id'])->setOrderItemId($row['order_item_id']);
        }
        return $result->setLines($lines);
    }

    /**
     * A refusal as Magento's REST layer renders errors: {"message": template, "parameters": {...}}
     * (Magento\Framework\Webapi\Rest\Response::_renderMessages() puts getDetails() under "parameters").
     */
    private function error(string $po, Refusal $refusal): WebapiException
    {
        return new WebapiException(new Phrase(Refusal::messageTemplate()), 0, $refusal->httpStatus(),
            $refusal->toParameters($po));
    }
}
