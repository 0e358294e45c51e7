<?php
/**
 * Prints contract.json: php commerce-module/bin/contract.php > commerce-module/contract.json
 */
declare(strict_types=1);

require dirname(__DIR__) . '/Test/Unit/bootstrap.php';

echo (new WalmartSync\Marketplace\Tools\ContractBuilder(dirname(__DIR__)))->toJson();
