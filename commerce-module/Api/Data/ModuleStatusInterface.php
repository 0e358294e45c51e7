<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Api\Data;

/**
 * What GET /V1/walmart-sync/module answers.
 *
 * Plain PHP on purpose (no Magento parent): Magento\Framework\Webapi\ServiceInputProcessor and
 * ServiceOutputProcessor only need the getters/setters and their docblock types.
 */
interface ModuleStatusInterface
{
    /**
     * WalmartSync_Marketplace.
     *
     * @return string
     */
    public function getModule();

    /**
     * The module's version.
     *
     * @return string
     */
    public function getVersion();

    /**
     * What callers may rely on (see README).
     *
     * @return string[]
     */
    public function getCapabilities();

    /**
     * Payment method code the module's placement uses.
     *
     * @return string
     */
    public function getPaymentMethod();

    /**
     * Carrier code the module's placement uses.
     *
     * @return string
     */
    public function getCarrierCode();

    /**
     * Magento's version (ProductMetadataInterface::getVersion()).
     *
     * @return string
     */
    public function getMagentoVersion();

    /**
     * Magento's edition (ProductMetadataInterface::getEdition()): Community on Open Source.
     *
     * @return string
     */
    public function getMagentoEdition();

    /**
     * Whether the cart-flow extension attributes are applied (setting walmart_sync/cart_flow/apply_amounts).
     *
     * @return bool
     */
    public function getCartAmountsEnabled();
}
