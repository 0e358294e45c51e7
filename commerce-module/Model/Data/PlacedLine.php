<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model\Data;

use WalmartSync\Marketplace\Api\Data\PlacedLineInterface;

/**
 * Plain implementation of PlacedLineInterface (di.xml preference).
 */
class PlacedLine implements PlacedLineInterface
{
    /** @var string|null */
    private $lineNumber = null;

    /** @var string|null */
    private $sku = null;

    /** @var int|null */
    private $qty = null;

    /** @var int|null */
    private $quoteItemId = null;

    /** @var int|null */
    private $orderItemId = null;

    public function getLineNumber()
    {
        return $this->lineNumber;
    }

    public function setLineNumber($lineNumber)
    {
        $this->lineNumber = $lineNumber === null ? null : (string)$lineNumber;
        return $this;
    }

    public function getSku()
    {
        return $this->sku;
    }

    public function setSku($sku)
    {
        $this->sku = $sku === null ? null : (string)$sku;
        return $this;
    }

    public function getQty()
    {
        return $this->qty;
    }

    public function setQty($qty)
    {
        $this->qty = $qty === null ? null : (int)$qty;
        return $this;
    }

    public function getQuoteItemId()
    {
        return $this->quoteItemId;
    }

    public function setQuoteItemId($quoteItemId)
    {
        $this->quoteItemId = $quoteItemId === null ? null : (int)$quoteItemId;
        return $this;
    }

    public function getOrderItemId()
    {
        return $this->orderItemId;
    }

    public function setOrderItemId($orderItemId)
    {
        $this->orderItemId = $orderItemId === null ? null : (int)$orderItemId;
        return $this;
    }
}
