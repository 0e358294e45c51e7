<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model\Data;

use WalmartSync\Marketplace\Api\Data\MarketplaceOrderInterface;

/**
 * Plain implementation of MarketplaceOrderInterface (di.xml preference).
 */
class MarketplaceOrder implements MarketplaceOrderInterface
{
    /** @var string|null */
    private $purchaseOrderId = null;

    /** @var string|null */
    private $customerOrderId = null;

    /** @var string|null */
    private $orderDate = null;

    /** @var string|null */
    private $storeCode = null;

    /** @var string|null */
    private $currencyCode = null;

    /** @var string|null */
    private $customerEmail = null;

    /** @var string|null */
    private $customerFirstname = null;

    /** @var string|null */
    private $customerLastname = null;

    /** @var \WalmartSync\Marketplace\Api\Data\MarketplaceAddressInterface|null */
    private $shippingAddress = null;

    /** @var string|null */
    private $shipMethod = null;

    /** @var string|null */
    private $estimatedShipDate = null;

    /** @var string|null */
    private $estimatedDeliveryDate = null;

    /** @var string|null */
    private $shippingMethodCode = null;

    /** @var string|null */
    private $fulfillment = null;

    /** @var string|null */
    private $shipNode = null;

    /** @var string|null */
    private $sourceCode = null;

    /** @var \WalmartSync\Marketplace\Api\Data\MarketplaceOrderLineInterface[] */
    private $lines = [];

    public function getPurchaseOrderId()
    {
        return $this->purchaseOrderId;
    }

    public function setPurchaseOrderId($purchaseOrderId)
    {
        $this->purchaseOrderId = $purchaseOrderId === null ? null : (string)$purchaseOrderId;
        return $this;
    }

    public function getCustomerOrderId()
    {
        return $this->customerOrderId;
    }

    public function setCustomerOrderId($customerOrderId)
    {
        $this->customerOrderId = $customerOrderId === null ? null : (string)$customerOrderId;
        return $this;
    }

    public function getOrderDate()
    {
        return $this->orderDate;
    }

    public function setOrderDate($orderDate)
    {
        $this->orderDate = $orderDate === null ? null : (string)$orderDate;
        return $this;
    }

    public function getStoreCode()
    {
        return $this->storeCode;
    }

    public function setStoreCode($storeCode)
    {
        $this->storeCode = $storeCode === null ? null : (string)$storeCode;
        return $this;
    }

    public function getCurrencyCode()
    {
        return $this->currencyCode;
    }

    public function setCurrencyCode($currencyCode)
    {
        $this->currencyCode = $currencyCode === null ? null : (string)$currencyCode;
        return $this;
    }

    public function getCustomerEmail()
    {
        return $this->customerEmail;
    }

    public function setCustomerEmail($customerEmail)
    {
        $this->customerEmail = $customerEmail === null ? null : (string)$customerEmail;
        return $this;
    }

    public function getCustomerFirstname()
    {
        return $this->customerFirstname;
    }

    public function setCustomerFirstname($customerFirstname)
    {
        $this->customerFirstname = $customerFirstname === null ? null : (string)$customerFirstname;
        return $this;
    }

    public function getCustomerLastname()
    {
        return $this->customerLastname;
    }

    public function setCustomerLastname($customerLastname)
    {
        $this->customerLastname = $customerLastname === null ? null : (string)$customerLastname;
        return $this;
    }

    public function getShippingAddress()
    {
        return $this->shippingAddress;
    }

    public function setShippingAddress($shippingAddress)
    {
        $this->shippingAddress = $shippingAddress;
        return $this;
    }

    public function getShipMethod()
    {
        return $this->shipMethod;
    }

    public function setShipMethod($shipMethod)
    {
        $this->shipMethod = $shipMethod === null ? null : (string)$shipMethod;
        return $this;
    }

    public function getEstimatedShipDate()
    {
        return $this->estimatedShipDate;
    }

    public function setEstimatedShipDate($estimatedShipDate)
    {
        $this->estimatedShipDate = $estimatedShipDate === null ? null : (string)$estimatedShipDate;
        return $this;
    }

    public function getEstimatedDeliveryDate()
    {
        return $this->estimatedDeliveryDate;
    }

    public function setEstimatedDeliveryDate($estimatedDeliveryDate)
    {
        $this->estimatedDeliveryDate = $estimatedDeliveryDate === null ? null : (string)$estimatedDeliveryDate;
        return $this;
    }

    public function getShippingMethodCode()
    {
        return $this->shippingMethodCode;
    }

    public function setShippingMethodCode($shippingMethodCode)
    {
        $this->shippingMethodCode = $shippingMethodCode === null ? null : (string)$shippingMethodCode;
        return $this;
    }

    public function getFulfillment()
    {
        return $this->fulfillment;
    }

    public function setFulfillment($fulfillment)
    {
        $this->fulfillment = $fulfillment === null ? null : (string)$fulfillment;
        return $this;
    }

    public function getShipNode()
    {
        return $this->shipNode;
    }

    public function setShipNode($shipNode)
    {
        $this->shipNode = $shipNode === null ? null : (string)$shipNode;
        return $this;
    }

    public function getSourceCode()
    {
        return $this->sourceCode;
    }

    public function setSourceCode($sourceCode)
    {
        $this->sourceCode = $sourceCode === null ? null : (string)$sourceCode;
        return $this;
    }

    public function getLines()
    {
        return $this->lines;
    }

    public function setLines($lines)
    {
        $this->lines = $lines === null ? [] : array_values((array)$lines);
        return $this;
    }
}
