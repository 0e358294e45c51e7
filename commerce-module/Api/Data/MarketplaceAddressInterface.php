<?php
declare(strict_types=1);

namespace WalmartSync\Marketplace\Api\Data;

/**
 * A shipping address of a marketplace order.
 *
 * Plain PHP on purpose (no Magento parent): Magento\Framework\Webapi\ServiceInputProcessor and
 * ServiceOutputProcessor only need the getters/setters and their docblock types.
 */
interface MarketplaceAddressInterface
{
    /**
     * First name.
     *
     * @return string
     */
    public function getFirstname();

    /**
     * @param string $firstname
     * @return $this
     */
    public function setFirstname($firstname);

    /**
     * Last name.
     *
     * @return string
     */
    public function getLastname();

    /**
     * @param string $lastname
     * @return $this
     */
    public function setLastname($lastname);

    /**
     * Street lines (address1, address2).
     *
     * @return string[]
     */
    public function getStreet();

    /**
     * @param string[] $street
     * @return $this
     */
    public function setStreet($street);

    /**
     * City.
     *
     * @return string
     */
    public function getCity();

    /**
     * @param string $city
     * @return $this
     */
    public function setCity($city);

    /**
     * State or region code (e.g. CA) or name; resolved to Magento's region_id.
     *
     * @return string|null
     */
    public function getRegion();

    /**
     * @param string $region
     * @return $this
     */
    public function setRegion($region);

    /**
     * Postal code.
     *
     * @return string
     */
    public function getPostcode();

    /**
     * @param string $postcode
     * @return $this
     */
    public function setPostcode($postcode);

    /**
     * ISO 3166-1 alpha-2 country code (US).
     *
     * @return string
     */
    public function getCountryId();

    /**
     * @param string $countryId
     * @return $this
     */
    public function setCountryId($countryId);

    /**
     * Phone number.
     *
     * @return string
     */
    public function getTelephone();

    /**
     * @param string $telephone
     * @return $this
     */
    public function setTelephone($telephone);
}
