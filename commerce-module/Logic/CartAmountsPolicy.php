<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Logic;

/**
 * Who may set prices, tax and shipping through the stock cart API (the sidecar's cart flow).
 *
 * The plugins sit on CartItemRepositoryInterface::save and ShippingInformationManagementInterface::
 * saveAddressInformation, which also serve the guest and customer carts of the storefront
 * (/V1/guest-carts/..., /V1/carts/mine/...). Honouring a price sent by a shopper would let anyone
 * set their own prices, so amounts are applied only for an integration or admin token whose role
 * grants WalmartSync_Marketplace::cart_amounts, and only when the setting is on.
 */
final class CartAmountsPolicy
{
    /** Magento\Authorization\Model\UserContextInterface::USER_TYPE_INTEGRATION / USER_TYPE_ADMIN */
    public const USER_TYPE_INTEGRATION = 1;
    public const USER_TYPE_ADMIN = 2;

    public const ACL_RESOURCE = 'WalmartSync_Marketplace::cart_amounts';

    public function allows(bool $enabled, ?int $userType, bool $aclAllowed): bool
    {
        return $enabled
            && in_array($userType, [self::USER_TYPE_INTEGRATION, self::USER_TYPE_ADMIN], true)
            && $aclAllowed;
    }
}
