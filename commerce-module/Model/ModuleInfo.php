<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Model;

use Magento\Framework\App\ProductMetadataInterface;
use WalmartSync\Marketplace\Api\Data\ModuleStatusInterfaceFactory;
use WalmartSync\Marketplace\Api\ModuleInfoInterface;
use WalmartSync\Marketplace\Logic\ModuleVersion;

/**
 * GET /V1/walmart-sync/module, for the sidecar's `config check --connect`: a 404 ("Request does not
 * match any route.") means the module is not installed (or its routes are not deployed).
 */
class ModuleInfo implements ModuleInfoInterface
{
    public function __construct(
        private readonly ModuleStatusInterfaceFactory $statusFactory,
        private readonly ProductMetadataInterface $productMetadata,
        private readonly Config $config
    ) {
    }

    /**
     * @inheritdoc
     */
    public function get()
    {
        /** @var \WalmartSync\Marketplace\Model\Data\ModuleStatus $status */
        $status = $this->statusFactory->create();
        return $status->setModule(ModuleVersion::MODULE_NAME)
            ->setVersion(ModuleVersion::VERSION)
            ->setCapabilities(ModuleVersion::capabilities())
            ->setPaymentMethod(ModuleVersion::PAYMENT_METHOD_CODE)
            ->setCarrierCode(ModuleVersion::CARRIER_CODE)
            ->setMagentoVersion((string)$this->productMetadata->getVersion())
            ->setMagentoEdition((string)$this->productMetadata->getEdition())
            ->setCartAmountsEnabled($this->config->cartAmountsEnabled());
    }
}
