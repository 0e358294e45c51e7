<?php
/**
 * walmart-sync companion module: registers WalmartSync_Marketplace with Magento's ComponentRegistrar.
 */
declare(strict_types=1);

use Magento\Framework\Component\ComponentRegistrar;

ComponentRegistrar::register(ComponentRegistrar::MODULE, 'WalmartSync_Marketplace', __DIR__);
